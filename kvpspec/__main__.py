from kvpspec.cli import main

main()
