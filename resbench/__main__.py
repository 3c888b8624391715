from resbench.cli import main

main()
