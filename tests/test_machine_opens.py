from datetime import datetime, timedelta

import pytest
from machine_opens import FAST_OPEN_SECONDS, is_fast_open, is_machine_agent, is_machine_open

SENT = datetime(2026, 3, 2, 9, 0, 0)


@pytest.mark.parametrize("agent", [
    "Mozilla/5.0",  # Apple Mail Privacy Protection
    " Mozilla/5.0 ",
    "",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
    "Barracuda Sentinel (EE)",
    "Mimecast-Services/1.0",
    "python-requests/2.31.0",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.4.0",
])
def test_machine_agents(agent):
    assert is_machine_agent(agent)


@pytest.mark.parametrize("agent", [
    # Gmail and Yahoo fetch the images when the reader opens the email
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Thunderbird/115.6.0",
    None,  # not known: the open did not come through the tracking pixel
])
def test_reader_agents(agent):
    assert not is_machine_agent(agent)


def test_fast_open():
    assert is_fast_open(SENT, SENT + timedelta(seconds=1))
    assert is_fast_open(SENT, SENT)
    assert not is_fast_open(SENT, SENT + timedelta(seconds=FAST_OPEN_SECONDS))
    assert not is_fast_open(SENT, SENT + timedelta(minutes=5))
    assert not is_fast_open(None, SENT), "an email not sent yet (still in the queue) tells nothing"


def test_machine_open_is_either():
    reader = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    assert is_machine_open(SENT, SENT + timedelta(seconds=1), reader)
    assert is_machine_open(SENT, SENT + timedelta(hours=1), "Mozilla/5.0")
    assert not is_machine_open(SENT, SENT + timedelta(hours=1), reader)
    assert not is_machine_open(SENT, SENT + timedelta(hours=1))
