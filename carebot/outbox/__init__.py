"""The transactional outbox: texts are rows first, deliveries second.

A text is written as a row in the same transaction as the change that caused
it (``write``), and sent later by the sender (``sender``), which re-checks at
send time what may have changed since (``policy``): consent (STOP always
wins), a number known to be unusable, quiet hours and the group's daily
budget (``budget``). The providers' delivery reports move a sent row's status
forward (``status``).

The guarantee, for every row, whatever crashes and wherever:

* A row is claimed (``pending`` -> ``sending``, committed) before the provider
  is asked, and marked ``sent`` with the provider's id after it answers.
* A crash (or an unclear answer: a timeout, a 5xx) between the claim and that
  commit leaves the row in ``sending``. ``recovery.recover_sending`` looks at
  such a row once nothing can still be on its way: at once when the process
  that claimed it is gone (carebot/store/lease.py), ``ASK_AFTER`` after an
  unclear answer, else once it is ``STUCK_AFTER`` old. If the provider has the
  text (the channel's ``find_sent`` finds it there) the row becomes ``sent``
  with that id; otherwise it goes back to ``pending`` and is sent again.
* Texts to one address go in the order they were written: a row waits while
  an earlier one to the same address is in flight or waiting for its retry
  (not while it waits for the morning: a reply still goes at once).
* So a row is never lost, and is never sent twice when the provider took it
  and can say so. The one residual risk is a provider that took a text, never
  reports it and cannot be asked (a channel without ``find_sent``): that row
  is sent again, at-least-once.

The modules, each importing only those listed before it (and lower layers):

* ``write``: ``enqueue``, ``push`` and the purposes (reply, push, final, after_stop, notice).
* ``notify``: telling a group's coordinators, the one way it is done.
* ``budget``: the group's daily budget, checked at send time; its notice to the coordinators.
* ``retry``: how often and after how long a refused text is tried again.
* ``policy``: the send-time checks: consent, daytime, the budget, order per address, a channel away.
* ``sender``: ``deliver_due``, its lanes, the claim, and recording what the provider said.
* ``recovery``: ``recover_sending``, settling rows left in ``sending`` with the provider.
* ``status``: ``apply_status``, the providers' delivery reports.
* ``pause``: a pause a provider asked for, kept across restarts.
* ``views``: read-only queries for the coordinators' views; ``backlog``: the backlog gauges.
"""
