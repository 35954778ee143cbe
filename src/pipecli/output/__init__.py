"""Output: domain values as views (views.py) and the one place that prints (render.py)."""
