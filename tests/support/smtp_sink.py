"""An SMTP server for trustwarden's tests: aiosmtpd on 127.0.0.1, writing
each message it accepts to a directory as JSON, parsed.

Usage: python smtp_sink.py PORT DIR [--starttls CERT KEY]

Each message becomes DIR/NNNNN.json, written to a temporary name first and
renamed, so a reader never sees half a file:
  {"mail_from", "rcpt_tos", "message_id", "from", "to", "subject", "date",
   "text", "html"}
With --starttls the server offers STARTTLS with CERT/KEY and refuses mail
until the client has switched to TLS. Prints "ready" once it listens.
"""

import email
import email.policy
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": message["Message-ID"],
            "from": message["From"],
            "to": message["To"],
            "subject": message["Subject"],
            "date": message["Date"],
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "tls": session.ssl is not None,
        }
        with self.lock:
            self.count += 1
            name = f"{self.count:05d}.json"
        temporary = os.path.join(self.directory, f".{name}.tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.rename(temporary, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    tls_context = None
    if len(sys.argv) == 6 and sys.argv[3] == "--starttls":
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(sys.argv[4], sys.argv[5])
    os.makedirs(directory, exist_ok=True)
    controller = Controller(
        Sink(directory),
        hostname="127.0.0.1",
        port=port,
        tls_context=tls_context,
        require_starttls=tls_context is not None,
    )
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
