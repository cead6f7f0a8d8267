"""Size limits of the chat rules, in one place so the API docs and the UI can quote them."""

from typing import Final

MAX_TEXT_CHARS: Final = 4000
MAX_NAME_CHARS: Final = 100
MAX_ID_CHARS: Final = 128
MAX_ATTACHMENTS: Final = 10
MAX_ROOM_MEMBERS: Final = 1000
# A creation is one transaction: its event, the stream head, the command record and one membership
# item per member, within DynamoDB's 100 items.
MAX_INITIAL_MEMBERS: Final = 90
PREVIEW_CHARS: Final = 140
MAX_SEQ: Final = 2**53  # seqs stay exact in JSON numbers and DynamoDB keys
MAX_UPLOAD_BYTES: Final = 100 * 1024 * 1024
MAX_FILE_NAME_CHARS: Final = 255
MAX_FILE_KEY_CHARS: Final = 1024
UPLOAD_EXPIRES_S: Final = 300
DOWNLOAD_EXPIRES_S: Final = 300

# The WebSocket API's limits, as API Gateway sets them (the local stage enforces the same).
MAX_FRAME_BYTES: Final = 32 * 1024
MAX_MESSAGE_BYTES: Final = 128 * 1024  # also the most a @connections post may carry
IDLE_TIMEOUT_S: Final = 600
MAX_CONNECTION_S: Final = 2 * 3600  # API Gateway closes a WebSocket after two hours

# What may be shared: images, video the browser plays inline, PDF and common office documents.
ALLOWED_CONTENT_TYPES: Final = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "video/mp4",
        "video/webm",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
    }
)
