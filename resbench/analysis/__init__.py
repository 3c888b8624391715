"""What the records say: summaries over seeds, statistics, the best value of a swept key and
its drift, the claims' verdicts and regression against reference results. No drawing."""
