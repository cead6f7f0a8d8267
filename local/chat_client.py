"""A terminal chat client for the local stage: sign in as a demo user, open a room or a DM, and
talk; frames from the server are printed as they arrive.

    uv run python -m local.chat_client alice --dm bob          # terminal 1
    uv run python -m local.chat_client bob --dm alice          # terminal 2

Type a line to send it; `/quit` leaves."""

from __future__ import annotations

import argparse
import json
import threading
import uuid
from typing import Any

import boto3
import requests
from websockets.sync.client import connect

from local.stage import DEMO_USERS


def sign_in(config: dict[str, Any], user: str, password: str) -> str:
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=config["cognitoEndpoint"],
        region_name=config["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    answer = cognito.initiate_auth(
        ClientId=config["userPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": password},
    )
    return str(answer["AuthenticationResult"]["IdToken"])


def show(frame: dict[str, Any], me: str) -> str:
    kind = frame.get("type")
    if kind == "message.created":
        return f"[{frame['seq']}] {frame['actor']}: {frame['data']['text']}"
    if kind == "ack":
        return f"  (sent as {frame['seq']})"
    if kind == "typing":
        return f"  {frame['user_id']} is typing…"
    if kind == "error":
        return f"  ! {frame['code']}: {frame['message']}"
    return f"  {kind} {json.dumps({k: v for k, v in frame.items() if k != 'type'})}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user", choices=sorted(DEMO_USERS))
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    place = parser.add_mutually_exclusive_group(required=True)
    place.add_argument("--dm", metavar="PEER", help="talk to one person")
    place.add_argument("--room", metavar="ROOM_ID", help="talk in a room you belong to")
    args = parser.parse_args()

    config = requests.get(f"{args.url}/config.json", timeout=10).json()
    token = sign_in(config, args.user, DEMO_USERS[args.user])
    headers = {"Authorization": f"Bearer {token}"}
    room = args.room
    if args.dm:
        opened = requests.post(
            f"{config['apiUrl']}/dms", json={"peer": args.dm}, headers=headers, timeout=10
        )
        room = opened.json()["room_id"]
    history = requests.get(
        f"{config['apiUrl']}/rooms/{room}/messages", headers=headers, timeout=10
    ).json()
    for message in reversed(history.get("messages", [])):
        print(f"[{message['seq']}] {message['author']}: {message['text']}")

    with connect(f"{config['wsUrl']}?token={token}") as socket:

        def listen() -> None:
            for raw in socket:
                frame = json.loads(raw)
                if frame.get("room_id") in (room, None):
                    print(show(frame, args.user), flush=True)

        threading.Thread(target=listen, daemon=True).start()
        print(f"you are {args.user} in {room}; type to send, /quit to leave")
        while (line := input()) != "/quit":
            socket.send(
                json.dumps(
                    {"action": "send", "room_id": room, "text": line, "client_id": uuid.uuid4().hex}
                )
            )


if __name__ == "__main__":
    main()
