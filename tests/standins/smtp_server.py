"""The SMTP server of the alert tests: aiosmtpd behind STARTTLS (or TLS from the first
byte with --implicit-tls, or no TLS at all with --plain, a local relay), with a certificate from a throwaway CA (trustme) written to
--ca-file for the client to trust, and AUTH for one --user/--password when given.
Each message it accepts is appended to --out as one JSON line."""

import argparse
import email
import email.policy
import json
import ssl
import time

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--ca-file", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--user")
parser.add_argument("--password")
parser.add_argument("--implicit-tls", action="store_true")
parser.add_argument("--plain", action="store_true")
args = parser.parse_args()

ca = trustme.CA()
ca.cert_pem.write_to_path(args.ca_file)
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        # The plain-text body decoded (7bit, quoted-printable or base64 alike), and the
        # subject, for tests that read what a person would.
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body(("plain",))
        with open(args.out, "a", encoding="utf-8") as out:
            out.write(
                json.dumps(
                    {
                        "from": envelope.mail_from,
                        "to": envelope.rcpt_tos,
                        # Behind --implicit-tls the listener speaks nothing but TLS.
                        "tls": session.ssl is not None or args.implicit_tls,
                        "authenticated": bool(session.authenticated),
                        "data": envelope.content.decode("utf-8", "replace"),
                        "subject": str(parsed.get("subject", "")),
                        "text": body.get_content() if body is not None else "",
                    }
                )
                + "\n"
            )
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == args.user
        and auth_data.password.decode() == args.password
    )
    return AuthResult(success=ok)


smtp = {
    "authenticator": authenticator if args.user else None,
    "auth_required": bool(args.user),
    # Over implicit TLS aiosmtpd does not know the session is encrypted and would
    # never offer AUTH; the connection is TLS from its first byte all the same.
    "auth_require_tls": not args.implicit_tls,
}
if args.plain:
    # A relay that offers no STARTTLS: a client that insists on TLS gives up.
    controller = Controller(Handler(), hostname="127.0.0.1", port=args.port, **smtp)
elif args.implicit_tls:
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=args.port, ssl_context=context, **smtp
    )
else:
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=args.port,
        tls_context=context,
        require_starttls=True,
        **smtp,
    )
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
