from pipecli.cli import main

main()
