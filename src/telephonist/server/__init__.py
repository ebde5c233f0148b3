"""The thin HTTP/websocket server: webhook, media websocket, health."""
