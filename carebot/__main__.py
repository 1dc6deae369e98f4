from carebot.cli import main

main(prog_name="carebot")  # `python -m carebot` says `carebot ...` in its lines, as the installed command
