"""The interactive docs at /schema without a network: Swagger UI's files come from the
swagger-ui-bundle-v2 package and are served by the app itself, instead of the CDN Litestar's plugins
load them from by default."""

from __future__ import annotations

from litestar import Router
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS_PATH = "/schema/assets"


def docs_render_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at /schema (and /schema/swagger); the app adds its own plugin for
    /schema/openapi.json."""
    swagger = SwaggerRenderPlugin(
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
