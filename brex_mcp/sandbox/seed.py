"""Deterministic fake company for the sandbox, in Brex's own object shapes.

Everything is derived from ``random.Random(seed)`` and fixed date anchors (never the clock), so two
sandboxes with the same seed hold identical data and tests can assert exact values.
"""

from __future__ import annotations

import datetime as dt
import itertools
import pickle
import random
import threading
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

COMPANY_DOMAIN = "northwind-aero.example"
"""Reserved ``.example`` TLD: the sandbox must never produce a deliverable address."""

TX_FIRST_DAY = dt.date(2025, 12, 1)
TX_LAST_DAY = dt.date(2026, 11, 30)
"""Transactions are posted inside this fixed window so results never depend on today's date."""

_ID_ALPHABET = bytes(b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36] for i in range(256))
"""A ``bytes.translate`` table from any byte to a lower-case letter or digit."""

USER_COUNT = 240
CARD_MIN_PER_STATUS = 24
TRANSACTION_COUNT = 6000
LARGE_TRANSACTION_COUNT = 50_000
"""The ``large`` profile: enough card transactions that summaries must page through many upstream pages."""

# Fixed non-active status counts so the mix is guaranteed for every seed.
_USER_STATUS_COUNTS: dict[str, int] = {
    "INVITED": 10,
    "DISABLED": 10,
    "DELETED": 8,
    "PENDING_ACTIVATION": 6,
    "ARCHIVED": 6,
    "INACTIVE": 3,
    "CLOSED": 2,
}

# (first, last, ascii first, ascii last): names a directory really has to cope with.
_NON_ASCII_NAMES: list[tuple[str, str, str, str]] = [
    ("José", "Núñez", "jose", "nunez"),
    ("Zoë", "Åkesson", "zoe", "akesson"),
    ("Søren", "Ødegaard", "soren", "odegaard"),
    ("Łukasz", "Żółkowski", "lukasz", "zolkowski"),
    ("伟", "李", "wei", "li"),
    ("Ünal", "Çelik", "unal", "celik"),
    ("Björk", "Sigurðardóttir", "bjork", "sigurdardottir"),
    ("François", "Lefèvre", "francois", "lefevre"),
    ("Małgorzata", "Wójcik", "malgorzata", "wojcik"),
    ("Chloé", "Dubois", "chloe", "dubois"),
    ("Jürgen", "Müller", "jurgen", "muller"),
    ("Ana María", "Peña", "anamaria", "pena"),
    ("Thị Lan", "Nguyễn", "thilan", "nguyen"),
    ("Antonín", "Dvořák", "antonin", "dvorak"),
    ("Siân", "Llewellyn", "sian", "llewellyn"),
    ("Göran", "Sjöström", "goran", "sjostrom"),
    ("Ioana", "Ștefănescu", "ioana", "stefanescu"),
    ("花子", "田中", "hanako", "tanaka"),
    ("Κώστας", "Παπαδόπουλος", "kostas", "papadopoulos"),
    ("Олег", "Смирнов", "oleg", "smirnov"),
    ("Ahmet", "Yılmaz", "ahmet", "yilmaz"),  # noqa: RUF001 - the Turkish dotless i is deliberate
    ("Émile", "Bérubé", "emile", "berube"),
    ("Đorđe", "Petrović", "djordje", "petrovic"),
]

_FIRST_NAMES = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Sandra",
    "Mark",
    "Margaret",
    "Steven",
    "Ashley",
    "Paul",
    "Kimberly",
    "Andrew",
    "Emily",
    "Joshua",
    "Donna",
    "Kevin",
    "Michelle",
    "Brian",
    "Carol",
    "George",
    "Amanda",
    "Timothy",
    "Melissa",
    "Ryan",
    "Deborah",
    "Jacob",
    "Stephanie",
    "Gary",
    "Rebecca",
    "Priya",
    "Arjun",
    "Mei",
    "Hiroshi",
    "Aisha",
    "Omar",
    "Fatima",
    "Carlos",
    "Lucia",
    "Kwame",
    "Amara",
    "Ingrid",
    "Rahul",
    "Yuki",
]

_LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Patel",
    "Shah",
    "Okafor",
    "Kim",
    "Nakamura",
    "Haddad",
    "Mensah",
    "Larsen",
    "Novak",
    "Fischer",
    "Rossi",
]

_DEPARTMENTS: list[tuple[str, str | None]] = [
    ("Engineering", "Product and platform engineering"),
    ("Sales", "New business and account management"),
    ("Marketing", "Brand, demand generation and events"),
    ("Finance", "Accounting, FP&A and procurement"),
    ("Operations", "Flight operations and logistics"),
    ("People", "Recruiting and HR"),
    ("Customer Success", None),
    ("Legal", None),
]

_LOCATIONS: list[tuple[str, str, JsonDict]] = [
    (
        "San Francisco HQ",
        "Headquarters",
        {
            "line1": "100 Harbor Way",
            "line2": "Suite 400",
            "city": "San Francisco",
            "state": "CA",
            "country": "US",
            "postal_code": "94105",
            "phone_number": "+14155550100",
        },
    ),
    (
        "New York",
        "East coast sales office",
        {
            "line1": "250 Hudson Street",
            "line2": "Floor 9",
            "city": "New York",
            "state": "NY",
            "country": "US",
            "postal_code": "10013",
            "phone_number": "+12125550142",
        },
    ),
    (
        "London",
        "EMEA office",
        {
            "line1": "12 Clerkenwell Road",
            "line2": None,
            "city": "London",
            "state": None,
            "country": "GB",
            "postal_code": "EC1M 5PQ",
            "phone_number": "+442075550199",
        },
    ),
    (
        "Toronto",
        "Canada office",
        {
            "line1": "88 Queens Quay West",
            "line2": "Unit 2500",
            "city": "Toronto",
            "state": "ON",
            "country": "CA",
            "postal_code": "M5J 0B8",
            "phone_number": "+14165550177",
        },
    ),
    (
        "Tokyo",
        "APAC office",
        {
            "line1": "2-7-1 Marunouchi",
            "line2": "12F",
            "city": "Chiyoda-ku",
            "state": "Tokyo",
            "country": "JP",
            "postal_code": "100-0005",
            "phone_number": "+81355550123",
        },
    ),
]

_TITLES = [
    "Chief Executive Officer",
    "Chief Financial Officer",
    "Controller",
    "VP of Engineering",
    "Engineering Manager",
    "Senior Software Engineer",
    "Software Engineer",
    "Account Executive",
    "Sales Development Representative",
    "Marketing Manager",
    "Operations Manager",
    "Flight Engineer",
    "Recruiter",
    "Customer Success Manager",
    "Legal Counsel",
]

# name, raw descriptor, mcc, country (alpha-3), currency, min, max (major units), weight, vendor card?
_MERCHANTS: list[tuple[str, str, str, str, str, float, float, int, bool]] = [
    ("AWS", "AMAZON WEB SERVICES AWS.AMAZON.CO WA", "4816", "USA", "USD", 40, 9000, 60, True),
    ("Google Cloud", "GOOGLE *CLOUD CC@GOOGLE.COM CA", "4816", "USA", "USD", 20, 4000, 30, True),
    ("Figma", "FIGMA MONTHLY SAN FRANCISCO CA", "5734", "USA", "USD", 15, 900, 25, True),
    ("Slack", "SLACK T0123456 SAN FRANCISCO CA", "5734", "USA", "USD", 8, 1500, 25, True),
    ("GitHub", "GITHUB, INC. SAN FRANCISCO CA", "5734", "USA", "USD", 4, 2100, 25, True),
    ("Zoom", "ZOOM.US 888-799-9666 CA", "4816", "USA", "USD", 15, 600, 20, True),
    ("Datadog", "DATADOG INC NEW YORK NY", "5734", "USA", "USD", 100, 6000, 12, True),
    ("Notion", "NOTION LABS, INC. SAN FRANCISCO CA", "5734", "USA", "USD", 8, 400, 12, True),
    ("Google Ads", "GOOGLE *ADS1234567 MOUNTAIN VIEW CA", "7311", "USA", "USD", 50, 8000, 18, True),
    ("LinkedIn", "LINKEDIN ADS 855-655-5653 CA", "7311", "USA", "USD", 50, 5000, 12, True),
    ("Delta Air Lines", "DELTA AIR LINES ATLANTA GA", "3058", "USA", "USD", 120, 1800, 40, False),
    ("United Airlines", "UNITED 0162345678901 HOUSTON TX", "3000", "USA", "USD", 110, 1900, 35, False),
    ("Uber", "UBER *TRIP HELP.UBER.COM CA", "4121", "USA", "USD", 8, 95, 120, False),
    ("Lyft", "LYFT *RIDE SAN FRANCISCO CA", "4121", "USA", "USD", 7, 80, 60, False),
    ("Marriott", "MARRIOTT MARQUIS SAN FRANCISCO CA", "3509", "USA", "USD", 180, 1400, 30, False),
    ("Hilton", "HILTON MIDTOWN NEW YORK NY", "3504", "USA", "USD", 190, 1300, 25, False),
    ("Starbucks", "STARBUCKS STORE 05123 SAN FRANCISCO CA", "5814", "USA", "USD", 3, 45, 90, False),
    ("Blue Bottle Coffee", "BLUE BOTTLE COFFEE OAKLAND CA", "5814", "USA", "USD", 4, 60, 40, False),
    ("DoorDash", "DOORDASH*DASHPASS SAN FRANCISCO CA", "5812", "USA", "USD", 12, 260, 60, False),
    ("Sweetgreen", "SWEETGREEN FIDI SAN FRANCISCO CA", "5812", "USA", "USD", 11, 180, 45, False),
    ("WeWork", "WEWORK NEW YORK NY", "6513", "USA", "USD", 300, 4500, 10, False),
    ("FedEx", "FEDEX 783412345 MEMPHIS TN", "4215", "USA", "USD", 12, 600, 25, False),
    ("Office Depot", "OFFICE DEPOT #1123 SAN FRANCISCO CA", "5943", "USA", "USD", 9, 700, 20, False),
    ("Apple", "APPLE STORE #R075 SAN FRANCISCO CA", "5732", "USA", "USD", 29, 3500, 12, False),
    ("The Home Depot", "THE HOME DEPOT #0601 SAN FRANCISCO CA", "5200", "USA", "USD", 15, 900, 10, False),
    ("Amtrak", "AMTRAK .COM 2860123456789 WASHINGTON DC", "4112", "USA", "USD", 35, 320, 12, False),
    ("Air Canada", "AIR CANADA 0142345678 MONTREAL QC", "3009", "CAN", "CAD", 150, 1600, 14, False),
    ("Tim Hortons", "TIM HORTONS #2210 TORONTO ON", "5814", "CAN", "CAD", 3, 40, 18, False),
    ("Fairmont Royal York", "FAIRMONT ROYAL YORK TORONTO ON", "3520", "CAN", "CAD", 260, 1500, 8, False),
    ("British Airways", "BRITISH AIRWAYS 1252345678 LONDON", "3005", "GBR", "GBP", 140, 1700, 12, False),
    ("Pret A Manger", "PRET A MANGER CLERKENWELL LONDON", "5812", "GBR", "GBP", 4, 45, 22, False),
    ("Transport for London", "TFL TRAVEL CH TFL.GOV.UK/CP", "4111", "GBR", "GBP", 2, 30, 18, False),
    ("The Hoxton", "THE HOXTON HOLBORN LONDON", "7011", "GBR", "GBP", 180, 1100, 8, False),
    ("Lufthansa", "LUFTHANSA 2202345678 FRANKFURT", "3008", "DEU", "EUR", 120, 1500, 10, False),
    ("Deutsche Bahn", "DB VERTRIEB GMBH FRANKFURT", "4112", "DEU", "EUR", 20, 260, 10, False),
    ("Hotel Le Marais", "HOTEL LE MARAIS PARIS", "7011", "FRA", "EUR", 160, 1200, 8, False),
    ("Hotel Okura Tokyo", "HOTEL OKURA TOKYO MINATO-KU", "7011", "JPN", "JPY", 28000, 180000, 10, False),
    ("JR East", "JR EAST SHINKANSEN TOKYO", "4112", "JPN", "JPY", 1500, 28000, 8, False),
    ("Al Shaheed Trading", "AL SHAHEED TRADING CO KUWAIT CITY", "5046", "KWT", "KWD", 12, 950, 6, False),
    ("Kuwait City Catering", "KUWAIT CITY CATERING CO KUWAIT", "5812", "KWT", "KWD", 8, 240, 4, False),
]

_EXPONENT = {"USD": 2, "CAD": 2, "GBP": 2, "EUR": 2, "JPY": 0, "KWD": 3}

_VIRTUAL_CARD_NAMES = ["Online subscriptions", "Travel", "Team events", "Conference tickets", "Software trials"]
_POSTING_LAG_DAYS = [0, 0, 1, 1, 1, 2, 3]
_SPEND_DURATIONS = ["MONTHLY", "MONTHLY", "QUARTERLY", "YEARLY", "ONE_TIME"]


@dataclass
class CompanyData:
    """The sandbox's whole state; the Brex emulator reads and mutates these dicts in place.

    Attribute access (``data.users``) and item access (``data["users"]``) both work, so callers can
    treat it as the plain mapping of collections it is.
    """

    users: list[JsonDict]
    departments: list[JsonDict]
    locations: list[JsonDict]
    titles: list[JsonDict]
    cards: list[JsonDict]
    transactions: list[JsonDict]
    card_accounts: list[JsonDict]
    company: JsonDict
    user_limits: dict[str, JsonDict]
    """Brex ``UserLimitResponse`` per user id (not part of the user object in Brex)."""
    user_timestamps: dict[str, tuple[str, str]]
    """(created_at, updated_at) per user id: Brex does not expose these, Truto's unified model does."""
    admin_user_id: str
    """The user that owns the token, answered by ``/v2/users/me``."""
    cash_accounts: list[JsonDict] = field(default_factory=list)
    """Brex ``CashAccount`` objects; exactly one is primary."""
    seed: int = 0
    _expenses: list[JsonDict] | None = field(default=None, repr=False)

    @property
    def expenses(self) -> list[JsonDict]:
        """Brex ``ExpandableExpense`` objects (expansions null), linked to their transactions.

        Built on first use, not in the snapshot every sandbox copies: most tests never look at expenses,
        and copying them would double the cost of every fresh sandbox.
        """
        if self._expenses is None:
            with _EXPENSES_LOCK:
                if self._expenses is None:
                    from .expenses import build_expenses

                    self._expenses = build_expenses(self.seed, self)
        return self._expenses

    def __getitem__(self, name: str) -> Any:
        if name == "expenses":
            return self.expenses
        if name.startswith("_") or name not in self.__dataclass_fields__:
            raise KeyError(name)
        return getattr(self, name)

    def keys(self) -> list[str]:
        return [n for n in self.__dataclass_fields__ if not n.startswith("_")] + ["expenses"]

    def find(self, collection: str, item_id: str) -> JsonDict | None:
        """Look an object up by id; a scan keeps it right even if a test edits the lists."""
        for item in self[collection]:
            if item.get("id") == item_id:
                return item
        return None


def _money(amount: int, currency: str = "USD") -> JsonDict:
    return {"amount": amount, "currency": currency}


class _Ids:
    """Unique Brex-style ids (prefix + lower-case alphanumerics) from the seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._seen: set[str] = set()

    def make(self, prefix: str, length: int = 20) -> str:
        while True:
            # Seeded bytes mapped onto [a-z0-9] in C: far faster than choices() for thousands of ids.
            value = prefix + self._rng.randbytes(length).translate(_ID_ALPHABET).decode("ascii")
            if value not in self._seen:
                self._seen.add(value)
                return value


def _iso_timestamp(rng: random.Random, start: dt.date, end: dt.date) -> tuple[str, dt.datetime]:
    day = start + dt.timedelta(days=rng.randrange((end - start).days + 1))
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randrange(86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"), moment


def _make_people(rng: random.Random) -> list[tuple[str, str, str, str]]:
    """240 distinct (first, last, ascii first, ascii last), non-ASCII names spread through the list."""
    people: list[tuple[str, str, str, str]] = []
    used: set[tuple[str, str]] = set()
    while len(people) < USER_COUNT - len(_NON_ASCII_NAMES):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        if (first, last) in used:
            continue
        used.add((first, last))
        people.append((first, last, first.lower(), last.lower()))
    # Keep the first few (executives, the token owner) ASCII; scatter the rest.
    for name in _NON_ASCII_NAMES:
        people.insert(rng.randrange(8, len(people) + 1), name)
    return people


def _build_users(
    rng: random.Random,
    ids: _Ids,
    departments: list[JsonDict],
    locations: list[JsonDict],
    titles: list[JsonDict],
) -> tuple[list[JsonDict], dict[str, tuple[str, str]], dict[str, JsonDict]]:
    people = _make_people(rng)
    statuses = [s for s, n in _USER_STATUS_COUNTS.items() for _ in range(n)]
    statuses += ["ACTIVE"] * (USER_COUNT - 8 - len(statuses))
    rng.shuffle(statuses)
    statuses = ["ACTIVE"] * 8 + statuses  # the leadership team is active

    title_by_name = {t["name"]: t["id"] for t in titles}
    dept_by_name = {d["name"]: d["id"] for d in departments}
    leaders = [
        ("Chief Executive Officer", "Operations"),
        ("Chief Financial Officer", "Finance"),
        ("Controller", "Finance"),
        ("VP of Engineering", "Engineering"),
        ("Marketing Manager", "Marketing"),
        ("Operations Manager", "Operations"),
        ("Recruiter", "People"),
        ("Legal Counsel", "Legal"),
    ]
    ordinary_titles = [
        t["id"] for t in titles if t["name"] not in {"Chief Executive Officer", "Chief Financial Officer"}
    ]

    users: list[JsonDict] = []
    stamps: dict[str, tuple[str, str]] = {}
    limits: dict[str, JsonDict] = {}
    emails: set[str] = set()
    for index, (first, last, afirst, alast) in enumerate(people):
        user_id = ids.make("cuuser_")
        local = f"{afirst}.{alast}".replace(" ", "").replace("'", "")
        email, n = f"{local}@{COMPANY_DOMAIN}", 2
        while email in emails:
            email, n = f"{local}{n}@{COMPANY_DOMAIN}", n + 1
        emails.add(email)
        if index < len(leaders):
            title_id: str | None = title_by_name[leaders[index][0]]
            department_id: str | None = dept_by_name[leaders[index][1]]
            location_id: str | None = locations[0]["id"]
            manager_id = None if index == 0 else users[0]["id"]
        else:
            title_id = rng.choice(ordinary_titles)
            department_id = rng.choice(departments)["id"]
            location_id = rng.choices(locations, weights=[50, 20, 12, 10, 8])[0]["id"]
            manager_id = users[rng.randrange(0, min(index, 40))]["id"]
        status = statuses[index]
        if status in ("INVITED", "PENDING_ACTIVATION") and rng.random() < 0.5:
            title_id = None  # not filled in yet for people who have not joined
        users.append(
            {
                "id": user_id,
                "first_name": first,
                "last_name": last,
                "email": email,
                "status": status,
                "manager_id": manager_id,
                "department_id": department_id,
                "location_id": location_id,
                "title_id": title_id,
                "metadata": {},
                "remote_display_id": f"E{1001 + index}",
            }
        )
        created, created_dt = _iso_timestamp(rng, dt.date(2019, 3, 1), dt.date(2025, 6, 30))
        updated_dt = created_dt + dt.timedelta(seconds=rng.randrange(1, 86400 * 150))
        stamps[user_id] = (created, updated_dt.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        if status == "ACTIVE":
            monthly = rng.choice([2500, 5000, 10000, 25000]) * 100
            limits[user_id] = {
                "monthly_limit": _money(monthly),
                "monthly_available": _money(monthly - rng.randrange(0, monthly // 2 + 1)),
            }
        else:
            limits[user_id] = {"monthly_limit": None, "monthly_available": None}
    return users, stamps, limits


def _card(
    rng: random.Random,
    ids: _Ids,
    user: JsonDict,
    card_type: str,
    limit_type: str,
    status: str,
    name: str,
    billing: JsonDict,
    mailing: JsonDict | None,
    vendor: str | None = None,
) -> JsonDict:
    card: JsonDict = {
        "id": ids.make("ncard_", 22),
        "owner": {"type": "USER", "user_id": user["id"]},
        "status": status,
        "last_four": f"{rng.randrange(10000):04d}",
        "card_name": name,
        "card_type": card_type,
        "limit_type": limit_type,
        "spend_controls": None,
        "billing_address": dict(billing),
        "mailing_address": dict(mailing) if mailing is not None else None,
        "expiration_date": {"month": rng.randint(1, 12), "year": rng.randint(2027, 2030)},
        "has_been_transferred": False,
        "metadata": {},
        "budget_id": None,
    }
    if limit_type == "CARD":
        limit = rng.choice([500, 1000, 2500, 5000, 10000, 20000]) * 100
        card["spend_controls"] = {
            "spend_limit": _money(limit),
            "spend_available": _money(limit - rng.randrange(0, limit + 1)),
            "spend_duration": rng.choice(_SPEND_DURATIONS),
            "reason": f"Vendor card for {vendor}",
            "lock_after_date": "2026-12-31" if rng.random() < 0.2 else None,
        }
    return card


def _build_cards(
    rng: random.Random, ids: _Ids, users: list[JsonDict], locations: list[JsonDict], billing: JsonDict
) -> tuple[list[JsonDict], dict[str, str]]:
    """Cards per user by user status, then top-ups so every card status has enough members."""
    address_by_location = {loc["id"]: addr for loc, (_, _, addr) in zip(locations, _LOCATIONS, strict=True)}
    vendors = [m[0] for m in _MERCHANTS if m[8]]
    cards: list[JsonDict] = []
    vendor_of: dict[str, str] = {}
    leavers_with_live_card = 0
    for user in users:
        status = user["status"]
        full_name = f"{user['first_name']} {user['last_name']}"
        mailing = address_by_location.get(user["location_id"] or "", billing)
        if status in ("INVITED", "PENDING_ACTIVATION"):
            if rng.random() < 0.7:
                cards.append(_card(rng, ids, user, "PHYSICAL", "USER", "SHIPPED", full_name, billing, mailing))
            continue
        if status != "ACTIVE":
            # Leavers: normally terminated, but a few still hold a live card (the audit case).
            live = status in ("DISABLED", "DELETED") and leavers_with_live_card < 6
            leavers_with_live_card += live
            physical_status = "ACTIVE" if live else rng.choice(["TERMINATED", "TERMINATED", "LOCKED"])
            cards.append(_card(rng, ids, user, "PHYSICAL", "USER", physical_status, full_name, billing, mailing))
            if rng.random() < 0.4:
                cards.append(
                    _card(
                        rng, ids, user, "VIRTUAL", "USER", "TERMINATED", rng.choice(_VIRTUAL_CARD_NAMES), billing, None
                    )
                )
            continue
        roll = rng.random()
        if roll < 0.06:  # lost a card, got a replacement
            cards.append(_card(rng, ids, user, "PHYSICAL", "USER", "TERMINATED", full_name, billing, mailing))
            replacement = "SHIPPED" if rng.random() < 0.4 else "ACTIVE"
            cards.append(_card(rng, ids, user, "PHYSICAL", "USER", replacement, full_name, billing, mailing))
        else:
            physical_status = "ACTIVE" if roll < 0.9 else ("LOCKED" if roll < 0.95 else "SHIPPED")
            cards.append(_card(rng, ids, user, "PHYSICAL", "USER", physical_status, full_name, billing, mailing))
        if rng.random() < 0.35:
            cards.append(
                _card(
                    rng,
                    ids,
                    user,
                    "VIRTUAL",
                    "USER",
                    rng.choice(["ACTIVE"] * 6 + ["LOCKED"]),
                    rng.choice(_VIRTUAL_CARD_NAMES),
                    billing,
                    None,
                )
            )
        if rng.random() < 0.12:
            vendor = rng.choice(vendors)
            card = _card(rng, ids, user, "VIRTUAL", "CARD", "ACTIVE", vendor, billing, None, vendor)
            vendor_of[card["id"]] = vendor
            cards.append(card)

    # Guarantee every status is well represented whatever the seed, by changing spare active cards
    # of active users (never the leavers' live cards); only physical cards can be in the mail.
    active_users = {u["id"] for u in users if u["status"] == "ACTIVE"}
    spare = [c for c in cards if c["status"] == "ACTIVE" and c["owner"]["user_id"] in active_users]
    rng.shuffle(spare)
    for wanted in ("SHIPPED", "LOCKED", "TERMINATED"):
        missing = CARD_MIN_PER_STATUS - sum(1 for c in cards if c["status"] == wanted)
        for card in [c for c in spare if wanted != "SHIPPED" or c["card_type"] == "PHYSICAL"][: max(0, missing)]:
            card["status"] = wanted
            spare.remove(card)
    while len(cards) < 300:
        user = users[rng.randrange(8, len(users))]
        if user["status"] == "ACTIVE":
            cards.append(
                _card(rng, ids, user, "VIRTUAL", "USER", "ACTIVE", rng.choice(_VIRTUAL_CARD_NAMES), billing, None)
            )
    return cards, vendor_of


def _amount(rng: random.Random, currency: str, low: float, high: float) -> int:
    """A purchase amount in minor units, skewed toward the low end like real spend."""
    major = low + (high - low) * (rng.random() ** 2.2)
    return max(1, round(major * 10 ** _EXPONENT[currency]))


def _build_transactions(
    rng: random.Random, ids: _Ids, cards: list[JsonDict], vendor_of: dict[str, str], count: int = TRANSACTION_COUNT
) -> list[JsonDict]:
    days = [TX_FIRST_DAY + dt.timedelta(days=i) for i in range((TX_LAST_DAY - TX_FIRST_DAY).days + 1)]
    day_text = [d.isoformat() for d in days]
    day_index = {text: i for i, text in enumerate(day_text)}
    last_index = len(days) - 1
    merchants_by_name = {m[0]: m for m in _MERCHANTS}
    general = [m for m in _MERCHANTS if not m[8] or m[0] in ("AWS", "Figma", "Slack", "GitHub", "Zoom")]
    general_weights = [m[7] for m in general]
    usable = [c for c in cards if c["status"] != "SHIPPED"]
    card_weights = [1 if c["status"] != "ACTIVE" else (2 if c["card_type"] == "VIRTUAL" else 4) for c in usable]

    def row(
        card: JsonDict | None,
        kind: str,
        amount: JsonDict,
        description: str,
        merchant: JsonDict | None,
        initiated: int,
        posted: int,
    ) -> JsonDict:
        return {
            "id": "",
            "card_id": card["id"] if card else None,
            "description": description,
            "amount": amount,
            "initiated_at_date": day_text[initiated],
            "posted_at_date": day_text[posted],
            "type": kind,
            "merchant": merchant,
            "card_metadata": dict(card["metadata"]) if card else {},
            "expense_id": None,
        }

    months = sorted({(d.year, d.month) for d in days})
    month_first = [days.index(dt.date(y, m, 1)) for y, m in months]
    special = len(months) * 2  # one collection and one rewards credit a month
    refunds, chargebacks = count * 4 // 100, count // 200  # 240 and 30 for the default 6000
    purchase_count = count - special - refunds - chargebacks
    # Draw the weighted choices in bulk: one call each instead of thousands keeps seeding fast.
    picked_cards = rng.choices(usable, cum_weights=list(itertools.accumulate(card_weights)), k=purchase_count)
    picked_merchants = rng.choices(general, cum_weights=list(itertools.accumulate(general_weights)), k=purchase_count)
    purchases: list[JsonDict] = []
    rand = rng.random  # int(rand() * n) instead of randrange(): same determinism, a third of the cost
    for card, m in zip(picked_cards, picked_merchants, strict=True):
        vendor = vendor_of.get(card["id"])
        if vendor:
            m = merchants_by_name[vendor]
        posted = int(rand() * len(days))
        initiated = max(0, posted - _POSTING_LAG_DAYS[int(rand() * len(_POSTING_LAG_DAYS))])
        merchant = {"raw_descriptor": m[1], "mcc": m[2], "country": m[3]}
        purchases.append(
            row(card, "PURCHASE", _money(_amount(rng, m[4], m[5], m[6]), m[4]), m[0], merchant, initiated, posted)
        )
    rows = list(purchases)
    card_by_id = {c["id"]: c for c in cards}
    for kind, count in (("REFUND", refunds), ("CHARGEBACK", chargebacks)):
        for _ in range(count):
            original = rng.choice(purchases)
            posted = min(last_index, day_index[original["posted_at_date"]] + rng.randint(2, 25))
            initiated = max(0, posted - rng.randint(0, 2))
            share = 1.0 if rng.random() < 0.6 else rng.uniform(0.1, 0.9)
            amount = -max(1, round(original["amount"]["amount"] * share))
            label = original["description"] if kind == "REFUND" else f"Chargeback: {original['description']}"
            rows.append(
                row(
                    card_by_id[original["card_id"]],
                    kind,
                    _money(amount, original["amount"]["currency"]),
                    label,
                    dict(original["merchant"]),
                    initiated,
                    posted,
                )
            )
    usd_spend = sum(r["amount"]["amount"] for r in purchases if r["amount"]["currency"] == "USD")
    per_month = usd_spend // len(months)
    for first in month_first:
        pay_day = min(last_index, first + 4)
        rows.append(
            row(
                None,
                "COLLECTION",
                _money(-round(per_month * rng.uniform(0.9, 1.1))),
                "Payment - Thank you",
                None,
                pay_day,
                pay_day,
            )
        )
        reward_day = min(last_index, first + 14)
        rows.append(
            row(
                None,
                "REWARDS_CREDIT",
                _money(-round(per_month * rng.uniform(0.008, 0.015))),
                "Rewards credit",
                None,
                reward_day,
                reward_day,
            )
        )
    for r in rows:
        r["id"] = ids.make("pste_", 20)
    rows.sort(key=lambda r: (r["posted_at_date"], r["id"]))
    return rows


def build_company(seed: int, transactions: int = TRANSACTION_COUNT) -> CompanyData:
    """Build the whole company from ``seed`` with ``transactions`` card transactions; pure and deterministic."""
    if transactions < 100:
        raise ValueError(f"transactions must be at least 100, got {transactions}")
    rng = random.Random(seed)
    ids = _Ids(rng)
    departments = [{"id": ids.make("cudept_"), "name": name, "description": desc} for name, desc in _DEPARTMENTS]
    locations = [{"id": ids.make("culoc_"), "name": name, "description": desc} for name, desc, _ in _LOCATIONS]
    titles = [{"id": ids.make("cutitle_"), "name": name} for name in _TITLES]
    users, stamps, limits = _build_users(rng, ids, departments, locations, titles)
    billing = dict(_LOCATIONS[0][2])
    cards, vendor_of = _build_cards(rng, ids, users, locations, billing)
    card_transactions = _build_transactions(rng, ids, cards, vendor_of, transactions)
    card_accounts = [
        {
            "id": ids.make("dpacc_"),
            "status": "ACTIVE",
            "current_balance": _money(48_213_577),
            "available_balance": _money(151_786_423),
            "account_limit": _money(200_000_000),
            "current_statement_period": {"start_date": "2026-11-01", "end_date": "2026-11-30"},
        }
    ]
    company = {
        "id": ids.make("cuacc_"),
        "legal_name": "Northwind Aero, Inc.",
        "mailing_address": dict(billing),
        "accountType": "BREX_CLASSIC",
    }
    return CompanyData(
        users=users,
        departments=departments,
        locations=locations,
        titles=titles,
        cards=cards,
        transactions=card_transactions,
        card_accounts=card_accounts,
        company=company,
        user_limits=limits,
        user_timestamps=stamps,
        admin_user_id=users[2]["id"],  # the Controller: a finance admin owns the API token
        cash_accounts=_cash_accounts(ids),  # made last so the rest of the company is unchanged by it
        seed=seed,
    )


def _cash_accounts(ids: _Ids) -> list[JsonDict]:
    """An operating account (primary) and a reserve account, in Brex's ``CashAccount`` shape."""
    return [
        {
            "id": ids.make("dpcash_"),
            "name": "Operating",
            "status": "ACTIVE",
            "current_balance": _money(1_284_503_219),
            "available_balance": _money(1_279_871_004),
            "account_number": "8202441937",
            "routing_number": "121145433",
            "primary": True,
        },
        {
            "id": ids.make("dpcash_"),
            "name": "Reserve",
            "status": "ACTIVE",
            "current_balance": _money(500_000_000),
            "available_balance": _money(500_000_000),
            "account_number": "8202441945",
            "routing_number": "121145433",
            "primary": False,
        },
    ]


_EXPENSES_LOCK = threading.RLock()
_SNAPSHOTS: dict[tuple[int, int], bytes] = {}
_SNAPSHOTS_LOCK = threading.Lock()
_SNAPSHOTS_MAX = 8


def fresh_company(seed: int, transactions: int = TRANSACTION_COUNT) -> CompanyData:
    """An independent copy of ``build_company(seed, transactions)``, built once per process and then unpickled.

    Test suites start a new sandbox per test; copying a snapshot is several times cheaper than
    re-seeding, and every copy is separately mutable.
    """
    with _SNAPSHOTS_LOCK:
        snapshot = _SNAPSHOTS.get((seed, transactions))
        if snapshot is None:
            data = build_company(seed, transactions)
            if len(_SNAPSHOTS) < _SNAPSHOTS_MAX:
                _SNAPSHOTS[(seed, transactions)] = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
            return data
    return pickle.loads(snapshot)
