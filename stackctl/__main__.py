from stackctl.cli.entry import main

main()
