"""One-page PDF reports of an evaluation and of a portfolio, drawn on the server.

fpdf2 (pure Python) lays them out: no browser or office suite on the server, and the same bytes
whatever the client. Text is set in DejaVu Sans Condensed (``fonts/``), which covers the Latin,
Greek and Cyrillic scripts and the symbols explanations use (¥, ≤, →, ×); characters outside it
(CJK titles, say) print as blanks, which the reports' identities (ids and hashes) do not need.
"""

from service.reports.pdf import evaluation_pdf, portfolio_pdf

__all__ = ["evaluation_pdf", "portfolio_pdf"]
