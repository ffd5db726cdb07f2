"""Is an email open (or a click) a person's, or a machine fetching its images (or links)?

Two kinds of machines load the tracking pixel without anyone reading:

- **security scanners and prefetchers** of the receiving side (Microsoft
  Defender, Barracuda, Mimecast, Proofpoint, Apple Mail Privacy Protection)
  fetch every image as the email is delivered. Nobody reads an email within
  ``FAST_OPEN_SECONDS`` of its sending: in that time the message is still
  travelling to the mailbox, and a person still has to notice it, open the
  mail client and the message. Two seconds: the scanners answer within a
  second of delivery; a longer window starts to swallow the rare reader who
  has the inbox open when the email arrives.
- **a known user agent**: Apple's Mail Privacy Protection loads the images of
  every email through Apple's proxies, at delivery or later, with the bare
  user agent ``Mozilla/5.0`` and nothing else; no mail client sends that, nor
  an empty one. Scanners that name themselves are in ``MACHINE_AGENTS``.

Clicks are judged by the same rules (``is_machine_open`` with the click's
time and the user agent that followed the link): the scanners follow every
link of a message on delivery too.

Not machines: Gmail's ``GoogleImageProxy`` and Yahoo's ``YahooMailProxy``
fetch the images when the reader opens the email (they only hide the
reader's address), so their opens are people's opens.
"""

# the bare user agent of Apple Mail Privacy Protection's image proxies
APPLE_PRIVACY_AGENT = "mozilla/5.0"

# substrings (lower case) of the user agents of scanners and prefetchers
MACHINE_AGENTS = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "ppops",  # Proofpoint's URL defense
    "symantec",
    "trendmicro",
    "fireeye",
    "forcepoint",
    "sophos",
    "bitdefender",
    "safelinks",  # Microsoft Defender for Office 365
    "bingpreview",
    "headlesschrome",
    "phantomjs",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "curl/",
    "wget/",
    "java/",
    "okhttp",
    "apache-httpclient",
    "libwww-perl",
    "bot/",
    "crawler",
    "spider",
)

# an open this soon after sending is a machine's (see the module's doc)
FAST_OPEN_SECONDS = 2


def is_machine_agent(user_agent):
    """Whether ``user_agent`` (a request's User-Agent header) is a known
    machine's; ``None`` (not known, the open did not come over HTTP) is not."""
    if user_agent is None:
        return False
    agent = user_agent.strip().lower()
    if not agent or agent == APPLE_PRIVACY_AGENT:
        return True
    return any(marker in agent for marker in MACHINE_AGENTS)


def is_fast_open(sent_at, opened_at):
    """Whether an open at ``opened_at`` came too soon after ``sent_at`` (both
    naive UTC datetimes; ``sent_at`` may be unknown) to be a person's."""
    if not sent_at or not opened_at:
        return False
    return (opened_at - sent_at).total_seconds() < FAST_OPEN_SECONDS


def is_machine_open(sent_at, opened_at, user_agent=None):
    """Whether an open is a machine's: too fast, or from a machine's user agent."""
    return is_fast_open(sent_at, opened_at) or is_machine_agent(user_agent)
