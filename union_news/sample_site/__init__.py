"""The bundled sample site: a small Vietnamese trade-union news site served on loopback.

Articles live as YAML files in ``articles/`` (format: FORMAT.md), each with the metric rows a
correct pipeline extracts from it. The demo and the tests ingest this site end to end.
"""

from union_news.sample_site.model import (
    ARTICLES_DIR,
    Image,
    RelatedBlock,
    RelatedItem,
    SampleArticle,
    SampleFormatError,
    load_sample_articles,
    slugify,
)
from union_news.sample_site.render import (
    render_article_html,
    render_listing_html,
    render_robots,
    render_rss,
    render_sitemap,
)
from union_news.sample_site.server import RequestRecord, SampleSite

__all__ = [
    "ARTICLES_DIR",
    "Image",
    "RelatedBlock",
    "RelatedItem",
    "RequestRecord",
    "SampleArticle",
    "SampleFormatError",
    "SampleSite",
    "load_sample_articles",
    "render_article_html",
    "render_listing_html",
    "render_robots",
    "render_rss",
    "render_sitemap",
    "slugify",
]
