"""The interactive docs at /schema without a network: Swagger UI's files come from the
swagger-ui-bundle-v2 package and are served by the app, not by the CDN Litestar's plugins use."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from tinktalker.entrypoints.api.openapi_truth import TruthfulJsonRenderPlugin

ASSETS_PATH = "/schema/assets"


class PublishedSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Swagger UI showing the document /schema/openapi.json publishes, not Litestar's draft."""

    def __init__(self, published: TruthfulJsonRenderPlugin, **options: Any) -> None:
        super().__init__(**options)
        self._published = published

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, self._published.document(openapi_schema))


def docs_render_plugins(published: TruthfulJsonRenderPlugin) -> list[OpenAPIRenderPlugin]:
    """Swagger UI at /schema (and /schema/swagger) showing what /schema/openapi.json serves."""
    swagger = PublishedSwaggerRenderPlugin(
        published,
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
        path=["/", "/swagger"],
    )
    return [swagger]


def docs_assets_router() -> Router:
    from swagger_ui_bundle import swagger_ui_path

    return create_static_files_router(
        path=ASSETS_PATH, directories=[swagger_ui_path], name="docs-assets", include_in_schema=False
    )
