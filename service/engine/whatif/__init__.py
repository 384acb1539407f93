"""What would it take: counterfactual search, what-if diffs and side-by-side comparisons."""
