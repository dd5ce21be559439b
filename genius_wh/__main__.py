from genius_wh.cli import main

main()
