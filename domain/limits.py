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
MAX_CONTENT_TYPE_CHARS: Final = 127
