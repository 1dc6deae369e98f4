from carebot.cli import main

main(prog_name="carebot")
