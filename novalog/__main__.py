from novalog.cli import main

main()
