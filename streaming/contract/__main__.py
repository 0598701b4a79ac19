from streaming.contract.schema import main

main()
