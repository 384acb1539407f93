"""Jobs the API hands to the workers and answers for later: the ledger of issued ids and the
wake-ups a waiting request blocks on. Redis or memory, as ``service.backends`` opens them."""
