"""`colorize serve`: the local web page."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from colorize.cli.common import DeviceOpt, Engine, EngineOpt, MaxMpOpt, MirrorOpt, WeightsOpt, app, friendly


@app.command()
@friendly
def serve(
    folder: Annotated[Optional[Path], typer.Argument(help="Folder of photos to browse, colour and save into (default: none; open or drop photos in the page).", metavar="FOLDER")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; any but 127.0.0.1 needs a token (one is made if --token is not given).", metavar="TEXT")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.", metavar="N")] = 8000,
    token: Annotated[Optional[str], typer.Option("--token", help="Require this token on every request.", metavar="TEXT")] = None,
    allow_host: Annotated[Optional[list[str]], typer.Option("--allow-host", help="Also answer requests that name the server so (a name of this machine, e.g. mypc.local; repeatable). It always answers to 127.0.0.1, localhost, [::1] and --host.", metavar="NAME")] = None,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open the page in a web browser.")] = True,
    weights: WeightsOpt = None,
    device: DeviceOpt = "auto",
    engine: EngineOpt = Engine.auto,
    mirror: MirrorOpt = True,
    max_megapixels: MaxMpOpt = 150.0,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", min=1.0, help="Refuse larger uploads.", metavar="X")] = 64.0,
) -> None:
    """Colour photos in a local web page: before/after, click to give a colour, save beside the photo."""
    import threading
    import webbrowser

    import uvicorn

    from colorize.engine import EngineOptions, open_colorizer
    from colorize.page_guard import PageGuard, required_token
    from colorize.serve import Session, check_port, create_app, ensure_folder

    ensure_folder(folder)
    check_port(host, port)
    token = required_token(host, token)
    session = Session(folder, open_colorizer(EngineOptions(weights, device, engine.value, mirror=mirror)), max_megapixels,
                      weights=weights)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    typer.echo(f"colorize: serving {folder or 'uploads'} at {url} (Ctrl-C to stop)", err=True)
    if browser:
        threading.Timer(1.0, webbrowser.open, [url]).start()
    guard = PageGuard(host, token, allow_host or ())
    uvicorn.run(create_app(session, guard, max_upload_mb), host=host, port=port, log_level="warning")
