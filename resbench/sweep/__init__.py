"""A sweep: its schema (`schema`), loading and expansion into runs (`load`), the claims of
`expect:` (`claims`) and the defaults they share with report and check (`defaults`), how many
runs its axes make (`size`), its errors worded as one line (`messages`), the presets
(`presets/`) and sbatch's limits (`slurm_limits`)."""
