from adnomaly_cli import main

main()
