"""Matching benchmark: rank registrations against a synthetic practice of a million patients.

    python bench/matching.py [--records 1000000] [--registrations 5000] [--seed 4] [--estimate]

Generates a seeded population in households (shared surnames, phones, emails and ZIP codes, twins),
with US-like ages and names drawn from frequency-skewed lists plus a long tail of generated
surnames (accented, hyphenated and two-part Hispanic surnames included). Then registrations with
known truth: exact copies, typos (1-2 edits in a name or a date digit), nicknames, day and month
swapped, surname changed after marriage, phone missing, two of these at once with no phone or email
(harder than the targets ask), and people who are not patients at all.

Prints the machine, index build time and memory, ranking latency p50/p95/p99, top-1 and top-5
recall for patients, auto-connect precision and coverage, and false auto-connects for strangers.
``--estimate`` also prints the per-field level frequencies over true pairs (m) and over different
people met in the same blocks (u), from which the weights in ``visitdesk/matching/score.py`` were
checked.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import time
import tracemalloc
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta

from visitdesk.matching import CandidateIndex, MatchRecord, auto_connect, rank
from visitdesk.matching.normalize import NICKNAMES, compact, swap_day_month
from visitdesk.matching.records import normalize_record
from visitdesk.matching.score import compare_people

TODAY = date(2025, 6, 1)


def words(text: str) -> list[str]:
    return text.split()


MALE = words("""James Michael Robert John David William Richard Joseph Thomas Christopher Charles Daniel
Matthew Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian Timothy Ronald George Jason
Edward Jeffrey Ryan Jacob Nicholas Gary Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin
Samuel Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron José Adam Nathan Henry
Zachary Douglas Peter Kyle Noah Ethan Jeremy Christian Walter Keith Austin Roger Terry Sean Gerald
Carl Dylan Harold Jordan Jesse Bryan Lawrence Arthur Gabriel Bruce Logan Billy Joe Alan Juan
Elijah Willie Albert Wayne Randy Mason Vincent Liam Roy Bobby Caleb Bradley Russell Lucas Carlos
Luis Miguel Jorge Pedro Alejandro Francisco Manuel Jesús Ricardo Fernando Eduardo Roberto Javier
Sergio Rafael Ramón Andrés Mateo Santiago Diego Hugo Óscar Ignacio Enrique Guillermo Alfonso
Gonzalo Mohammed Ahmed Omar Wei Hiroshi Minh Duc Raj Arjun Sanjay Dmitri Ivan Piotr Björn Søren
François Jean-Luc André René Théo Malik DeShawn Jamal Tyrone Darnell Marcus Andre Xavier Isaiah
Elias Levi Ezekiel Theodore Leo Oliver Sebastian Hunter Connor Owen Wyatt Landon Carter Julian Grayson
Isaac Lincoln Jaxon Asher Hudson Colton Cameron Ian Evan Chase Cole Blake Jace Dominic Adrián""")

FEMALE = words("""Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy
Betty Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah
Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma Nicole
Helen Samantha Katherine Christine Debra Rachel Carolyn Janet Catherine Maria Heather Diane Ruth
Julie Olivia Joyce Virginia Victoria Kelly Lauren Christina Joan Evelyn Judith Megan Andrea Cheryl
Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison Frances Kathryn Janice Jean Abigail Alice
Judy Sophia Grace Denise Amber Doris Marilyn Danielle Beverly Isabella Theresa Diana Natalie Brittany
Charlotte Marie Kayla Alexis Lori María Guadalupe Rosa Carmen Ana Lucía Sofía Valentina Camila
Isabel Dolores Pilar Mercedes Josefina Ximena Paola Daniela Fernanda Gabriela Alejandra Adriana
Verónica Mónica Beatriz Consuelo Rosario Esperanza Graciela Margarita Concepción Soledad Inés
Chloé Zoë Renée Noémie Hélène Aaliyah Imani Keisha Latoya Ebony Priya Ananya Mei Yuki Linh Thuy
Mai Fatima Aisha Leila Olga Svetlana Ingrid Astrid Siobhan Aoife Niamh Ava Mia Harper Amelia Ella
Scarlett Aria Penelope Layla Chloe Riley Zoey Nora Lily Eleanor Hazel Violet Aurora Savannah Audrey
Brooklyn Bella Claire Skylar Lucy Paisley Everly Caroline Nova Genesis Emilia Kennedy Maya Willow
Kinsley Naomi Elena Sadie Ariana Ruby Alyssa Stella Gianna Valeria Quinn Clara Vivian Madeline""")

SURNAMES = words("""Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores
Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner
Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz
Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez
Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross
Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales
Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace
Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro
Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman
Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
Dixon Muñoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills
Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant
Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott
Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins
Hoffman Johnston Matthews Peña Richards Contreras Willis Carpenter Lawrence Sandoval Guerrero George
Chapman Rios Estrada Ortega Watkins Greene Nuñez Wheeler Valdez Harper Burke Larson Santiago Maldonado
Morrison Franklin Carlson Austin Dominguez Carr Lawson Jacobs O'Brien Lynch Singh Vega Bishop
Montgomery Oliver Jensen Harvey Williamson Gilbert Dean Sims Espinoza Howell Li Wong Reid Hanson Le
McCoy Garrett Burton Fuller Wang Weber Welch Rojas Lucas Marquez Fields Park Yang Little Banks
Padilla Day Walsh Bowman Schultz Luna Fowler Mejia Davidson Acosta Brewer May Holland Juarez
Newman Pearson Curtis Cortez Douglas Schneider Joseph Barrett Navarro Figueroa Keller Ávila Wade
Molina Stanley Hopkins Campos Barnett Bates Chambers Caldwell Beck Lambert Miranda Byrd Craig Ayala
Lowe Frazier Powers Neal Leonard Gregory Carrillo Sutton Fleming Rhodes Shelton Schwartz Norris
Jennings Watts Duran Walters Cohen McDaniel Moran Parks Steele Vaughn Becker Holt DeLeon Barker
Terry Hale Leon Hail Benson Haynes Horton Miles Lyons Pham Graves Bush Thornton Wolfe Warner Cabrera
McKinney Mann Zimmerman Dawson Lara Fletcher Page McCarthy Love Robles Cervantes Solis Erickson
Reeves Chang Klein Salinas Fuentes Baldwin Daniel Simon Velasquez Hardy Higgins Aguirre Lin Cummings
Chandler Sharp Barber Bowen Ochoa Dennis Robbins Liu Ramsey Francis Griffith Paul Blair O'Connor
Cardenas Pacheco Cross Calderon Quinn Moss Swanson Chan Rivas Khan Rodgers Serrano FitzGerald
Rosales Stevenson Christensen Manning Gill Curry McLaughlin Harmon McGee Gross Doyle Garner Newton
Burgess Reese Walton Blake Trujillo Adkins Brady Goodman Roman Webster Goodwin Fischer Huang Potter
Delacruz Montoya Todd Wu Hines Mullins Castaneda Malone Cannon Tate Mack Sherman Hubbard Hodges
Zhang Guerra Wolf Valencia Saunders Franco Rowe Gallagher Farmer Hammond Hampton Townsend Ingram
Wise Gallegos Clarke Barton Schroeder Maxwell Waters Logan Camacho Strickland Norman Person Colón
Parsons Frank Harrington Glover Osborne Buchanan Casey Floyd Patton Ibarra Ball Tyler Suarez Bowers
Orozco Salas Cobb Gibbs Andrade Bauer Conner Moody Escobar McGuire Lloyd Mueller Hartman French
Kramer McBride Pope Lindsey Velazquez Norton McCormick Sparks Flynn Yates Hogan Marsh Macias Villanueva
Zamora Pratt Stokes Owen Ballard Lang Brock Villarreal Charles Drake Barrera Cain Patrick Piña
Bernard García Rodríguez Hernández López González Pérez Sánchez Ramírez Martínez Gómez Díaz
Jiménez Álvarez Gutiérrez Domínguez Vásquez Chávez D'Angelo D'Amico Van der Berg de la Cruz
St. John MacArthur Nowak Kowalski Wiśniewski Müller Schäfer Øvergaard Dubois Lefèvre Moreau""")
# "Van der Berg", "de la Cruz", "St. John" were split into words; glue them back.
for _glued in ("Van der Berg", "de la Cruz", "St. John"):
    _parts = _glued.split()
    _at = SURNAMES.index(_parts[0])
    SURNAMES[_at : _at + len(_parts)] = [_glued]

ONSETS = words("""Al Ash Bar Bel Ber Bran Brad Cal Car Cor Dal Dar Del Dun El Far Fen Gal Gar Gol Hal Har
Hol Kal Kar Kel Lan Lar Lin Mal Mar Mor Nor Oak Pal Pen Quin Ral Ren Ros Sal Sar Sel Stan Tal Tor
Ul Val Ver Wal War Wes Yar Zan Ab Ke Mo Ta Ri Lo Sa Vi Bo Ga""")
MIDDLES = words("""ba be bi bo da de di do ka ke la le li lo ma me mi mo na ne ni no ra re ri ro sa se si
so ta te ti to va ve vi wa we an en in on ar er or el il ol""")
CODAS = words("""son sen ton ley ly man mann berg burg field ford ham well wood worth er ez es ski sky
wicz ova ini etti ano ardo ello ez ing stein thal vik strom quist ard ot eau ier""")

DOMAINS = (
    ["gmail.com"] * 10
    + ["yahoo.com"] * 4
    + ["hotmail.com"] * 3
    + [
        "outlook.com",
        "aol.com",
        "icloud.com",
        "comcast.net",
        "att.net",
        "msn.com",
    ]
)


def zipf_weights(n: int, s: float) -> list[float]:
    return [1.0 / (k + 1) ** s for k in range(n)]


@dataclass(frozen=True)
class Registration:
    record: MatchRecord
    truth: str | None
    kind: str


class Population:
    """Seeded generator of patients in households, and of registrations with known truth."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.male_w = zipf_weights(len(MALE), 0.6)
        self.female_w = zipf_weights(len(FEMALE), 0.6)
        self.surname_w = zipf_weights(len(SURNAMES), 0.5)
        self.zips = [f"{self.rng.randrange(10000, 99999):05d}" for _ in range(2000)]
        self.next_id = 0
        # Ages: fairly flat to 60, then thinning out to 100 (a US-like pyramid, roughly).
        self.ages = list(range(0, 101))
        self.age_w = [1.0 if a <= 60 else max(0.02, 1.0 - (a - 60) / 42) for a in self.ages]

    # ------------------------------------------------------------------ pieces

    def first(self, sex: str) -> str:
        names, weights = (MALE, self.male_w) if sex == "M" else (FEMALE, self.female_w)
        return self.rng.choices(names, weights)[0]

    def surname(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.30:
            return rng.choices(SURNAMES, self.surname_w)[0]
        parts = [rng.choice(ONSETS)]
        if rng.random() < 0.5:
            parts.append(rng.choice(MIDDLES))
        parts.append(rng.choice(CODAS))
        return "".join(parts)

    def family_surname(self) -> str:
        roll = self.rng.random()
        if roll < 0.04:
            return f"{self.surname()}-{self.surname()}"
        if roll < 0.08:  # Spanish two-part surname, written with a space
            return f"{self.rng.choices(SURNAMES[:80], self.surname_w[:80])[0]} {self.surname()}"
        return self.surname()

    def birth_date(self, age: int) -> date:
        start = date(TODAY.year - age - 1, TODAY.month, 1) + timedelta(days=1)
        return start + timedelta(days=self.rng.randrange(365))

    def phone(self) -> str:
        rng = self.rng
        area = rng.randrange(201, 990)
        while area % 100 == 11:
            area = rng.randrange(201, 990)
        digits = f"{area}{rng.randrange(200, 1000):03d}{rng.randrange(10000):04d}"
        style = rng.random()
        if style < 0.4:
            return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
        if style < 0.6:
            return f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}"
        if style < 0.8:
            return f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"
        return digits

    def email(self, first: str, last: str, dob: date) -> str:
        rng = self.rng
        f, la = compact(first), compact(last)
        pattern = rng.random()
        if pattern < 0.35:
            local = f"{f}.{la}"
        elif pattern < 0.6:
            local = f"{f[0]}{la}{rng.randrange(100)}"
        elif pattern < 0.8:
            local = f"{f}{la}{dob.year % 100:02d}"
        else:
            local = f"{f}{rng.randrange(1000, 100000)}"
        address = f"{local}@{rng.choice(DOMAINS)}"
        return address.upper() if rng.random() < 0.05 else address

    def new_id(self) -> str:
        self.next_id += 1
        return f"P{self.next_id:07d}"

    def person(
        self, sex: str, age: int, surname: str, phone: str, zip_code: str, email_p: float
    ) -> MatchRecord:
        rng = self.rng
        first = self.first(sex)
        dob = self.birth_date(age)
        middle = self.first(sex) if rng.random() < 0.5 else ""
        email = self.email(first, surname, dob) if rng.random() < email_p else ""
        record = MatchRecord(
            record_id=self.new_id(),
            first_name=first,
            last_name=surname,
            middle_name=middle,
            date_of_birth=dob,
            sex=sex,
            phone=phone,
            email=email,
            postal_code=zip_code,
        )
        if rng.random() < 0.15:  # legacy practice-management data in capitals
            record = replace(
                record,
                first_name=first.upper(),
                last_name=surname.upper(),
                middle_name=middle.upper(),
            )
        return record

    def household(self) -> list[MatchRecord]:
        rng = self.rng
        surname = self.family_surname()
        home_phone = self.phone() if rng.random() < 0.9 else ""
        zip_code = rng.choice(self.zips) if rng.random() < 0.95 else ""
        size = rng.choices([1, 2, 3, 4, 5], [45, 25, 15, 10, 5])[0]
        age = rng.choices(self.ages[18:], self.age_w[18:])[0]
        sex = rng.choice("FM")
        own_phone = self.phone() if rng.random() < 0.6 else home_phone
        members = [self.person(sex, age, surname, own_phone, zip_code, 0.8)]
        if size >= 2:
            spouse_sex = "M" if sex == "F" else "F"
            spouse_age = max(18, min(100, age + rng.randint(-6, 6)))
            spouse_surname = surname if rng.random() < 0.7 else self.surname()
            spouse_phone = self.phone() if rng.random() < 0.6 else home_phone
            members.append(
                self.person(spouse_sex, spouse_age, spouse_surname, spouse_phone, zip_code, 0.8)
            )
        twin_of: MatchRecord | None = None
        for _ in range(size - 2):
            child_age = age - rng.randint(20, 40)
            if child_age < 0:
                continue
            child = self.person(rng.choice("FM"), child_age, surname, home_phone, zip_code, 0.25)
            if child.email and rng.random() < 0.5:
                child = replace(child, email=members[0].email or child.email)
            if twin_of is not None and rng.random() < 0.1:
                child = replace(child, date_of_birth=twin_of.date_of_birth)
            members.append(child)
            twin_of = child
        return members

    def population(self, n: int) -> list[MatchRecord]:
        records: list[MatchRecord] = []
        while len(records) < n:
            records.extend(self.household())
        return records[:n]

    # ------------------------------------------------------------------ registrations

    def typo(self, text: str) -> str:
        rng = self.rng
        letters = "abcdefghijklmnopqrstuvwxyz"
        for _ in range(rng.choice([1, 1, 2])):
            if len(text) < 3:
                break
            i = rng.randrange(1, len(text) - 1)
            op = rng.random()
            if op < 0.3:
                text = text[:i] + rng.choice(letters) + text[i + 1 :]
            elif op < 0.55:
                text = text[:i] + text[i + 1 :]
            elif op < 0.8:
                text = text[:i] + rng.choice(letters) + text[i:]
            else:
                text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        return text

    def date_typo(self, dob: date) -> date:
        rng = self.rng
        for _ in range(20):
            part = rng.choice(["year", "day", "day", "month"])
            try:
                if part == "year":
                    return dob.replace(year=dob.year + rng.choice([-10, -1, 1, 10]))
                if part == "day":
                    return dob.replace(day=rng.choice([d for d in range(1, 29) if d != dob.day]))
                return dob.replace(month=rng.choice([m for m in range(1, 13) if m != dob.month]))
            except ValueError:
                continue
        return dob

    def as_typed(self, record: MatchRecord, registration_id: str) -> MatchRecord:
        """What the person types on the portal: their own formatting, often no accents, sometimes
        a new phone or email, rarely the middle name."""
        rng = self.rng

        def casing(name: str) -> str:
            if rng.random() < 0.3:
                name = "".join(ch for ch in unicodedata.normalize("NFKD", name) if ord(ch) < 128)
            roll = rng.random()
            if roll < 0.1:
                return name.lower()
            if roll < 0.15:
                return f"  {name.title()} "
            return name.title() if name.isupper() else name

        phone = record.phone if rng.random() < 0.8 else self.phone()
        email = record.email if record.email and rng.random() < 0.75 else ""
        if not email:
            email = self.email(record.first_name, record.last_name, record.date_of_birth or TODAY)
        return MatchRecord(
            record_id=registration_id,
            first_name=casing(record.first_name),
            last_name=casing(record.last_name),
            middle_name=record.middle_name[:1] if rng.random() < 0.2 else "",
            date_of_birth=record.date_of_birth,
            sex=record.sex if rng.random() < 0.7 else "",
            phone=phone,
            email=email,
            postal_code=record.postal_code if rng.random() < 0.4 else "",
        )

    def registrations(self, records: list[MatchRecord], n: int) -> list[Registration]:
        rng = self.rng
        nick_of: dict[str, list[str]] = defaultdict(list)
        for short, roots in NICKNAMES.items():
            for root in roots:
                if root != short:
                    nick_of[root].append(short)
        kinds = {
            "exact": 0.25,
            "typo": 0.16,
            "nickname": 0.12,
            "swapped": 0.10,
            "surname_changed": 0.10,
            "missing_phone": 0.10,
            "two_errors": 0.05,
            "not_a_patient": 0.13,
        }

        def eligible(kind: str, source: MatchRecord) -> bool:
            dob = source.date_of_birth
            if dob is None:
                return False
            if kind == "nickname":
                return bool(nick_of.get(compact(source.first_name)))
            if kind == "swapped":
                return swap_day_month(dob) is not None
            if kind == "surname_changed":
                return source.sex == "F" and (TODAY - dob).days >= 18 * 365
            return True

        out: list[Registration] = []
        while len(out) < n:
            kind = rng.choices(list(kinds), list(kinds.values()))[0]
            reg_id = f"R{len(out) + 1:06d}"
            if kind == "not_a_patient":
                stranger = self.household()[0]
                out.append(Registration(self.as_typed(stranger, reg_id), None, kind))
                continue
            source = rng.choice(records)
            while not eligible(kind, source):
                source = rng.choice(records)
            assert source.date_of_birth is not None
            typed = self.as_typed(source, reg_id)
            if kind == "typo":
                roll = rng.random()
                if roll < 0.4:
                    typed = replace(typed, first_name=self.typo(typed.first_name))
                elif roll < 0.8:
                    typed = replace(typed, last_name=self.typo(typed.last_name))
                if compact(typed.first_name) == compact(source.first_name) and compact(
                    typed.last_name
                ) == compact(source.last_name):
                    # The date was chosen, or the name was too short to misspell: mistype the date.
                    typed = replace(typed, date_of_birth=self.date_typo(source.date_of_birth))
            elif kind == "nickname":
                short = rng.choice(nick_of[compact(source.first_name)])
                typed = replace(typed, first_name=short.title())
            elif kind == "swapped":
                typed = replace(typed, date_of_birth=swap_day_month(source.date_of_birth))
            elif kind == "surname_changed":
                new = self.surname()
                typed = replace(
                    typed,
                    last_name=f"{typed.last_name}-{new}" if rng.random() < 0.25 else new,
                    email=typed.email
                    if rng.random() < 0.5
                    else self.email(typed.first_name, new, source.date_of_birth),
                )
            elif kind == "missing_phone":
                typed = replace(typed, phone="")
            elif kind == "two_errors":
                # Harder than the targets ask: two mistakes at once, and no contact to lean on.
                typed = replace(typed, phone="", email="", last_name=self.typo(typed.last_name))
                if swap_day_month(source.date_of_birth) is not None and rng.random() < 0.5:
                    typed = replace(typed, date_of_birth=swap_day_month(source.date_of_birth))
                elif nick_of.get(compact(source.first_name)):
                    short = rng.choice(nick_of[compact(source.first_name)])
                    typed = replace(typed, first_name=short.title())
                else:
                    typed = replace(typed, first_name=self.typo(typed.first_name))
            out.append(Registration(typed, source.record_id, kind))
        return out


# --------------------------------------------------------------------------- measuring


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()} "
        f"({platform.python_implementation()}) on {platform.platform()}"
    )


def rss_mib() -> float:
    with open("/proc/self/statm", encoding="utf-8") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def estimate(index: CandidateIndex, registrations: list[Registration]) -> None:
    """Level frequencies over true pairs (m) and over different people in the same blocks (u)."""
    m: dict[str, Counter[str]] = defaultdict(Counter)
    u: dict[str, Counter[str]] = defaultdict(Counter)
    for registration in registrations:
        reg = normalize_record(registration.record)
        for slot in index.candidate_slots(reg):
            record_id, rec = index.slot_record(slot)
            _, outcomes = compare_people(reg, rec, index.settings)
            target = m if record_id == registration.truth else u
            for field, outcome in outcomes.items():
                target[str(field)][str(outcome[0])] += 1
    print("\nlevel frequencies (m over true pairs, u over other candidates in the blocks):")
    for name in m:
        m_total, u_total = sum(m[name].values()), sum(u[name].values())
        cells = [
            f"{level}: m={m[name][level] / m_total:.4f} u={u[name][level] / max(u_total, 1):.5f}"
            for level in sorted(set(m[name]) | set(u[name]))
        ]
        print(f"  {name:14} " + "; ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--registrations", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--estimate", action="store_true", help="print m/u level frequencies")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="measure the index with tracemalloc (slower)"
    )
    parser.add_argument("--show-misses", type=int, default=0, help="print this many misses")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    generator = Population(args.seed)
    started = time.perf_counter()
    records = generator.population(args.records)
    registrations = generator.registrations(records, args.registrations)
    print(
        f"generated {len(records):,} records and {len(registrations):,} registrations "
        f"in {time.perf_counter() - started:.1f} s (seed {args.seed})"
    )

    gc.collect()
    rss_before = rss_mib()
    if args.tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    index = CandidateIndex.build(records)
    build_s = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[0] / 2**20 if args.tracemalloc else None
    tracemalloc.stop()
    gc.collect()
    rss_index = rss_mib() - rss_before
    del records
    gc.collect()
    rss_total = rss_mib()
    print(
        f"index build: {build_s:.1f} s for {len(index):,} records "
        f"({len(index) / build_s:,.0f} records/s)"
    )
    print(
        f"index memory: RSS +{rss_index:,.0f} MiB over the generated records"
        + (f"; tracemalloc {traced:,.0f} MiB" if traced is not None else "")
        + f"; process RSS {rss_total:,.0f} MiB after dropping the generated records"
    )
    for name, (keys, largest) in index.block_sizes().items():
        print(f"  key {name:14} {keys:>10,} keys, largest block {largest:,}")

    # As the application does once its long-lived objects exist (desktop/app.py): keep the
    # collector from walking a million index tuples in the middle of a ranking.
    gc.collect()
    gc.freeze()

    latencies: list[float] = []
    candidates_seen: list[int] = []
    top1: Counter[str] = Counter()
    top5: Counter[str] = Counter()
    members: Counter[str] = Counter()
    auto_right = auto_wrong = auto_stranger = 0
    auto_by_kind: Counter[str] = Counter()
    misses: list[tuple[Registration, list[str]]] = []
    for registration in registrations:
        started = time.perf_counter()
        ranked = rank(registration.record, index, top=5)
        latencies.append((time.perf_counter() - started) * 1000)
        candidates_seen.append(len(index.candidate_slots(normalize_record(registration.record))))
        connected = auto_connect(registration.record, index)
        if registration.truth is None:
            auto_stranger += connected is not None
            continue
        members[registration.kind] += 1
        ids = [c.record_id for c in ranked]
        if ids[:1] == [registration.truth]:
            top1[registration.kind] += 1
        if registration.truth in ids:
            top5[registration.kind] += 1
        elif len(misses) < args.show_misses:
            misses.append((registration, ids))
        if connected is not None:
            auto_by_kind[registration.kind] += 1
            if connected == registration.truth:
                auto_right += 1
            else:
                auto_wrong += 1

    n_members = sum(members.values())
    strangers = len(registrations) - n_members
    autos = auto_right + auto_wrong + auto_stranger
    print(
        f"ranking latency per registration (normalise, block, score, explain top 5): "
        f"p50 {percentile(latencies, 0.50):.2f} ms, p95 {percentile(latencies, 0.95):.2f} ms, "
        f"p99 {percentile(latencies, 0.99):.2f} ms, max {max(latencies):.2f} ms; "
        f"candidates scored: median {statistics.median(candidates_seen):.0f}, "
        f"p99 {percentile([float(c) for c in candidates_seen], 0.99):.0f}"
    )
    print(
        f"recall over {n_members:,} patients: top-1 {sum(top1.values()) / n_members:.4f}, "
        f"top-5 {sum(top5.values()) / n_members:.4f}"
    )
    for kind in sorted(members):
        print(
            f"  {kind:16} n={members[kind]:5}  top-1 {top1[kind] / members[kind]:.4f}  "
            f"top-5 {top5[kind] / members[kind]:.4f}  auto-connected {auto_by_kind[kind]}"
        )
    precision = auto_right / autos if autos else 1.0
    print(
        f"auto-connect: {autos:,} made, precision {precision:.4f} ({auto_wrong} to the wrong "
        f"patient, {auto_stranger} for non-patients); coverage {auto_right / n_members:.4f} of "
        f"patients, {auto_by_kind['exact'] / members['exact']:.4f} of exact copies"
    )
    print(f"false auto-connects for {strangers:,} non-patients: {auto_stranger}")
    for registration, ids in misses:
        print(f"  miss {registration.kind}: {registration.record} truth {registration.truth}")
        print(f"       truth={index.person(registration.truth) if registration.truth else None}")
        print(f"       got {ids}")
    if args.estimate:
        estimate(index, registrations)


if __name__ == "__main__":
    main()
