"""User-agent strings, weighted roughly like real 2024 browser shares per platform.

One flat table indexed by small ints keeps batches numeric; the fraud strings are the ones an
analyst greps for (HeadlessChrome, PhantomJS, Android emulator builds).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v} Safari/537.36"
_SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS {os} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/{v} Mobile/15E148 Safari/604.1"
)
_ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android {os}; {model}) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/{v} Mobile Safari/537.36"
)

WEB: tuple[tuple[str, float], ...] = (
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) " + _CHROME.format(v="124.0.0.0"), 0.30),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) " + _CHROME.format(v="125.0.0.0"), 0.12),
    ("Mozilla/5.0 (X11; Linux x86_64) " + _CHROME.format(v="123.0.0.0"), 0.04),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
        + _CHROME.format(v="124.0.0.0")
        + " Edg/124.0.2478.80",
        0.13,
    ),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0", 0.08),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:125.0) Gecko/20100101 Firefox/125.0", 0.03),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0", 0.03),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        0.17,
    ),
)
IOS: tuple[tuple[str, float], ...] = (
    (_SAFARI_IOS.format(os="17_5", v="17.5"), 0.36),
    (_SAFARI_IOS.format(os="17_4_1", v="17.4.1"), 0.20),
    (_SAFARI_IOS.format(os="16_7_8", v="16.6"), 0.12),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/125.0.6422.80 Mobile/15E148 Safari/604.1",
        0.10,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        0.07,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/21F79 Instagram 331.0.2.19.106 "
        "(iPhone15,2; iOS 17_5; en_US; en; scale=3.00; 1179x2556; 600437297)",
        0.08,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/21E219 [FBAN/FBIOS;FBAV/462.0.0.39.108;FBDV/iPhone14,5;"
        "FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
        0.07,
    ),
)
ANDROID: tuple[tuple[str, float], ...] = (
    (_ANDROID_CHROME.format(os="14", model="SM-S918B", v="125.0.6422.72"), 0.20),
    (_ANDROID_CHROME.format(os="14", model="Pixel 8", v="124.0.6367.179"), 0.12),
    (_ANDROID_CHROME.format(os="13", model="SM-A546B", v="124.0.6367.82"), 0.18),
    (_ANDROID_CHROME.format(os="13", model="2201117TG", v="123.0.6312.118"), 0.14),
    (_ANDROID_CHROME.format(os="12", model="moto g(30)", v="122.0.6261.119"), 0.08),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        0.12,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/AP1A.240505.005; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.53 Mobile Safari/537.36",
        0.08,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.179 Mobile Safari/537.36 "
        "[FB_IAB/FB4A;FBAV/464.0.0.36.109;]",
        0.08,
    ),
)
HEADLESS_WEB: tuple[str, ...] = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.6367.60 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.6099.28 Safari/537.36",
    "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) "
    "PhantomJS/2.1.1 Safari/538.1",
)
EMULATOR_ANDROID: tuple[str, ...] = (
    _ANDROID_CHROME.format(
        os="14", model="sdk_gphone64_x86_64 Build/UE1A.230829.036", v="113.0.5672.136"
    ),
    "Mozilla/5.0 (Linux; Android 11; sdk_gphone_x86 Build/RSR1.201013.001; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/83.0.4103.106 "
    "Mobile Safari/537.36",
    _ANDROID_CHROME.format(
        os="9", model="Android SDK built for x86 Build/PSR1.180720.075", v="69.0.3497.100"
    ),
)

_NORMAL = (WEB, IOS, ANDROID)  # indexed like contract.PLATFORMS
UA_TABLE: tuple[str, ...] = (
    tuple(ua for pool in _NORMAL for ua, _ in pool) + HEADLESS_WEB + EMULATOR_ANDROID
)


def _indices(strings: tuple[str, ...]) -> NDArray[np.int16]:
    return np.array([UA_TABLE.index(s) for s in strings], dtype=np.int16)


NORMAL_INDICES: tuple[NDArray[np.int16], ...] = tuple(
    _indices(tuple(ua for ua, _ in pool)) for pool in _NORMAL
)
NORMAL_WEIGHTS: tuple[NDArray[np.float64], ...] = tuple(
    np.array([w for _, w in pool]) / sum(w for _, w in pool) for pool in _NORMAL
)
HEADLESS_INDICES = _indices(HEADLESS_WEB)
EMULATOR_INDICES = _indices(EMULATOR_ANDROID)
