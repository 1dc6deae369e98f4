"""``carebot`` (the console entry point) and ``python -m carebot``.

Importing carebot's commands takes most of a second (pydantic, SQLAlchemy, twilio, ...), and a Ctrl-C
in it printed a KeyboardInterrupt traceback from the import. So they are imported inside ``run``, and
a Ctrl-C however early ends carebot as one later does: quietly, by the signal itself (130 in a shell).
"""

from carebot.domain.startup import end_by_ctrl_c


def run() -> None:
    try:
        from carebot.cli import main

        main(prog_name="carebot")  # `python -m carebot` says `carebot ...` in its lines, as the installed command
    except KeyboardInterrupt:
        end_by_ctrl_c()


if __name__ == "__main__":
    run()
