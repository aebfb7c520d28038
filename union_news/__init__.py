"""union-news: Vietnamese trade-union news into a clean metrics warehouse."""

from union_news import _native

_native.install()  # the compiled extraction modules, when built and current (see _native)
