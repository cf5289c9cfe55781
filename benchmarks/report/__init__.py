"""A run's results as text: tables for the terminal, ``docs/performance.md``, its chart.

``tables``  one table per section, and the goals checked against the results;
``page``    the whole Markdown page, with what each section means;
``chart``   ``docs/performance.png`` (matplotlib, from the ``bench`` extra).
"""
