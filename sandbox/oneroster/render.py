"""Render generated records as OneRoster 1.1 JSON, a page at a time.

Hand-built JSON text (f-strings over pre-escaped name pools) rather than dicts through a
serializer: the sandbox must serve ~2.1 M enrollments faster than a client can parse
them, so each record costs about a microsecond. ``tests/sandbox/oneroster`` validates the
output against the OpenAPI schemas, which keeps this honest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import orjson

from sandbox.oneroster.generator import (
    GUARDIAN,
    ROLE_NAMES,
    ROLE_PREFIXES,
    STATUS_NAMES,
    STUDENT,
    District,
    Session,
    ascii_fold,
    grade_name,
)
from sandbox.oneroster.names import ROOM_WINGS

_EPOCH_DAY0 = dt.date(1970, 1, 1)
#: Order of a school's sessions inside the ``academicSessions`` collection.
SESSIONS_PER_SCHOOL = 7
#: First and last quarter (0-3) of a class's quarter mask.
_FIRST = {m: next(b for b in range(4) if m >> b & 1) for m in range(1, 16)}
_LAST = {m: max(b for b in range(4) if m >> b & 1) for m in range(1, 16)}


def json_text(value: str) -> str:
    """A string as the inside of a JSON string literal (quotes excluded)."""
    return orjson.dumps(value).decode()[1:-1]


class Renderer:
    """Per-district caches (escaped names, timestamps, refs) and the page renderers."""

    def __init__(self, district: District) -> None:
        self.d = district
        self._given = [json_text(n) for n in district.given_pool]
        self._family = [json_text(n) for n in district.family_pool]
        self._given_login = [ascii_fold(n) or "x" for n in district.given_pool]
        self._family_login = [ascii_fold(n) or "user" for n in district.family_pool]
        self._iso: dict[int, str] = {}
        self._school_names = [json_text(s.name) for s in district.schools]
        self._cache_key: tuple[str, int] | None = None
        self._caches: dict[str, dict[int, str]] = {}
        self._quarter_dates = [
            [(q.start_date.isoformat(), q.end_date.isoformat()) for q in s.quarters]
            for s in district.schools
        ]

    def iso(self, seconds: int) -> str:
        text = self._iso.get(seconds)
        if text is None:
            if len(self._iso) > 500_000:
                self._iso.clear()
            day, rem = divmod(seconds, 86400)
            text = (
                f"{_EPOCH_DAY0.fromordinal(_EPOCH_DAY0.toordinal() + day).isoformat()}"
                f"T{rem // 3600:02d}:{rem % 3600 // 60:02d}:{rem % 60:02d}Z"
            )
            self._iso[seconds] = text
        return text

    def _cache(self, base: str) -> dict[str, dict[int, str]]:
        """JSON fragments for this base URL and district version (mutations change ids,
        names and statuses, so a new version starts empty caches)."""
        key = (base, self.d.version)
        if self._cache_key != key:
            self._cache_key = key
            self._caches = {
                name: {}
                for name in ("classes", "orgs", "users", "enrollment_users", "enrollment_classes")
            }
        return self._caches

    # --- page assembly -------------------------------------------------------------------

    def page(self, collection: str, key: str, indices: Sequence[int], base: str) -> bytes:
        body = ",".join(self.records(collection, indices, base))
        return f'{{"{key}":[{body}]}}'.encode()

    def single(self, collection: str, key: str, index: int, base: str) -> bytes:
        return f'{{"{key}":{self.records(collection, [index], base)[0]}}}'.encode()

    def records(self, collection: str, indices: Sequence[int], base: str) -> list[str]:
        return getattr(self, f"_{collection}")(indices, base)

    # --- one renderer per stored kind ----------------------------------------------------

    def _orgs(self, indices: Sequence[int], base: str) -> list[str]:
        d = self.d
        out = []
        for i in indices:
            if i == 0:
                children = ",".join(
                    f'{{"href":"{base}/schools/{s.sourced_id}","sourcedId":"{s.sourced_id}",'
                    f'"type":"org"}}'
                    for s in d.schools
                )
                out.append(
                    f'{{"sourcedId":"{d.sourced_id}","status":"active",'
                    f'"dateLastModified":"{self.iso(d.schools[0].modified)}",'
                    f'"name":"{json_text(d.name)}","type":"district",'
                    f'"identifier":"{d.identifier}","children":[{children}]}}'
                )
                continue
            s = d.schools[i - 1]
            out.append(
                f'{{"sourcedId":"{s.sourced_id}","status":"active",'
                f'"dateLastModified":"{self.iso(s.modified)}",'
                f'"name":"{self._school_names[i - 1]}","type":"school",'
                f'"identifier":"{s.identifier}",'
                f'"parent":{{"href":"{base}/orgs/{d.sourced_id}","sourcedId":"{d.sourced_id}",'
                f'"type":"org"}},"metadata":{{"ic.schoolLevel":"{s.level}"}}}}'
            )
        return out

    def _session(self, s: Session, base: str) -> str:
        parent = (
            f',"parent":{{"href":"{base}/academicSessions/{s.parent}",'
            f'"sourcedId":"{s.parent}","type":"academicSession"}}'
            if s.parent
            else ""
        )
        children = ",".join(
            f'{{"href":"{base}/academicSessions/{c}","sourcedId":"{c}","type":"academicSession"}}'
            for c in s.children
        )
        return (
            f'{{"sourcedId":"{s.sourced_id}","status":"active",'
            f'"dateLastModified":"{self.iso(s.modified)}","title":"{s.title}",'
            f'"type":"{s.type}","startDate":"{s.start_date.isoformat()}",'
            f'"endDate":"{s.end_date.isoformat()}","schoolYear":"{s.school_year}"'
            f'{parent},"children":[{children}]{self._metadata("ic.termID", s.sourced_id)}}}'
        )

    def _metadata(self, name: str, value: object) -> str:
        """``,"metadata":{...}`` in the metadata shape, else nothing."""
        if not self.d.shape.metadata:
            return ""
        return f',"metadata":{{"{name}":"{value}","ic.sourceSystem":"Campus"}}'

    def _academicSessions(self, indices: Sequence[int], base: str) -> list[str]:
        schools = self.d.schools
        return [
            self._session(schools[i // SESSIONS_PER_SCHOOL].sessions[i % SESSIONS_PER_SCHOOL], base)
            for i in indices
        ]

    def _courses(self, indices: Sequence[int], base: str) -> list[str]:
        d = self.d
        out = []
        for i in indices:
            school = d.schools[d.course_school[i]]
            code, title, subject = d.catalog_entry(i)
            grades = ",".join(f'"{g}"' for g in school.grades)
            out.append(
                f'{{"sourcedId":"{d.course_id[i]}","status":"{STATUS_NAMES[d.course_status[i]]}",'
                f'"dateLastModified":"{self.iso(d.course_modified[i])}",'
                f'"title":"{json_text(title)}","courseCode":"{json_text(code)}",'
                f'"schoolYear":{{"href":"{base}/academicSessions/{school.year.sourced_id}",'
                f'"sourcedId":"{school.year.sourced_id}","type":"academicSession"}},'
                f'"grades":[{grades}],"subjects":["{json_text(subject)}"],'
                f'"org":{{"href":"{base}/schools/{school.sourced_id}",'
                f'"sourcedId":"{school.sourced_id}","type":"org"}}'
                f"{self._metadata('ic.courseID', d.course_id[i])}}}"
            )
        return out

    def _classes(self, indices: Sequence[int], base: str) -> list[str]:
        # Classes change only with the district version: whole records are cached.
        cache = self._cache(base)["classes"]
        out = []
        for i in indices:
            text = cache.get(i)
            if text is None:
                text = cache[i] = self._class(i, base)
            out.append(text)
        return out

    def _class(self, i: int, base: str) -> str:
        d = self.d
        school = d.schools[d.class_school[i]]
        course = d.class_course[i]
        _, _, subject = d.catalog_entry(course)
        terms = ",".join(
            f'{{"href":"{base}/terms/{t.sourced_id}","sourcedId":"{t.sourced_id}",'
            f'"type":"academicSession"}}'
            for t in school.terms_for_mask(d.class_mask[i])
        )
        grades = ",".join(f'"{g}"' for g in school.grades)
        period = d.class_period[i]
        class_type = "homeroom" if school.level == "elementary" and period == 1 else "scheduled"
        location = "" if d.shape.empty_strings else f"Room {room_name(d.class_room[i])}"
        return (
            f'{{"sourcedId":"{d.class_id[i]}","status":"{STATUS_NAMES[d.class_status[i]]}",'
            f'"dateLastModified":"{self.iso(d.class_modified[i])}",'
            f'"title":"{json_text(d.class_title(i))}",'
            f'"classCode":"{d.course_id[course]}-{d.class_number[i]}",'
            f'"classType":"{class_type}",'
            f'"location":"{location}","grades":[{grades}],'
            f'"subjects":["{json_text(subject)}"],'
            f'"course":{{"href":"{base}/courses/{d.course_id[course]}",'
            f'"sourcedId":"{d.course_id[course]}","type":"course"}},'
            f'"school":{self._org_ref(d.class_school[i], base)},'
            f'"terms":[{terms}],"periods":"{period}"'
            f"{self._metadata('ic.sectionID', d.class_id[i])}}}"
        )

    def _org_ref(self, school: int, base: str) -> str:
        refs = self._cache(base)["orgs"]
        text = refs.get(school)
        if text is None:
            oid = self.d.org_sourced_id(school)
            text = refs[school] = f'{{"href":"{base}/orgs/{oid}","sourcedId":"{oid}","type":"org"}}'
        return text

    def _user_ref(self, user: int, base: str) -> str:
        refs = self._cache(base)["users"]
        text = refs.get(user)
        if text is None:
            d = self.d
            uid = f"{ROLE_PREFIXES[d.user_role[user]]}{d.user_pid[user]}"
            text = refs[user] = f'{{"href":"{base}/users/{uid}","sourcedId":"{uid}","type":"user"}}'
        return text

    def _users(self, indices: Sequence[int], base: str) -> list[str]:
        d = self.d
        given, family = self._given, self._family
        gl, fl = self._given_login, self._family_login
        org_ref, user_ref, iso = self._org_ref, self._user_ref, self.iso
        student_domain = f"students.{d.slug}.example.org"
        staff_domain = f"{d.slug}.example.org"
        shape = d.shape
        empty = USER_EMPTY if shape.empty_strings else ""
        out = []
        append = out.append
        for i in indices:
            role = d.user_role[i]
            pid = d.user_pid[i]
            username = f"{gl[d.user_login_given[i]][0]}{fl[d.user_login_family[i]]}{pid}"
            household = d.user_household[i]
            if role == GUARDIAN:
                domain = "mail.example.com"
                children = d.household_children[household]
                agents = ",".join(user_ref(c, base) for c in children if d.user_alive[c])
                orgs = ",".join(org_ref(s, base) for s in d.user_orgs(i))
            else:
                domain = student_domain if role == STUDENT else staff_domain
                agents = user_ref(d.household_guardian[household], base) if household >= 0 else ""
                orgs = org_ref(d.user_school[i], base)
                if d.user_school2[i] >= 0:
                    orgs = f"{orgs},{org_ref(d.user_school2[i], base)}"
            middle = d.user_middle[i]
            grade = d.user_grade[i]
            grades = "" if grade < 0 else f'"{grade_name(grade)}"'
            user_ids = f'{{"type":"personID","identifier":"{pid}"}}'
            if shape.several_user_ids:
                user_ids += (
                    f',{{"type":"stateID","identifier":"{state_id(d.seed, pid)}"}}'
                    f',{{"type":"studentNumber","identifier":"{pid % 1_000_000:06d}"}}'
                )
            extra = empty
            if shape.metadata:
                extra += f',"metadata":{{"ic.personID":"{pid}","ic.sourceSystem":"Campus"}}'
            append(
                f'{{"sourcedId":"{ROLE_PREFIXES[role]}{pid}",'
                f'"status":"{STATUS_NAMES[d.user_status[i]]}",'
                f'"dateLastModified":"{iso(d.user_modified[i])}",'
                f'"username":"{username}",'
                f'"userIds":[{user_ids}],'
                f'"enabledUser":true,"givenName":"{given[d.user_given[i]]}",'
                f'"familyName":"{family[d.user_family[i]]}",'
                f'"middleName":"{given[middle] if middle >= 0 else ""}",'
                f'"role":"{ROLE_NAMES[role]}","identifier":"{pid}",'
                f'"email":"{username}@{domain}",'
                f'"agents":[{agents}],"orgs":[{orgs}],"grades":[{grades}]{extra}}}'
            )
        return out

    def _enrollments(self, indices: Sequence[int], base: str) -> list[str]:
        d = self.d
        iso = self.iso
        cache = self._cache(base)
        user_refs, class_refs = cache["enrollment_users"], cache["enrollment_classes"]
        enr_id, enr_user, enr_class, enr_role = d.enr_id, d.enr_user, d.enr_class, d.enr_role
        enr_primary, enr_modified, enr_status = d.enr_primary, d.enr_modified, d.enr_status
        metadata = d.shape.metadata
        out = []
        append = out.append
        for i in indices:
            u = enr_user[i]
            c = enr_class[i]
            user = user_refs.get(u)
            if user is None:
                user = user_refs[u] = f'"user":{self._user_ref(u, base)}'
            klass = class_refs.get(c)
            if klass is None:
                klass = self._class_fragment(c, base)
                class_refs[c] = klass
            role = enr_role[i]
            append(
                f'{{"sourcedId":"{"s" if role == STUDENT else "t"}{enr_id[i]}",'
                f'"status":"{STATUS_NAMES[enr_status[i]]}",'
                f'"dateLastModified":"{iso(enr_modified[i])}",{user},{klass},'
                f'"role":"{ROLE_NAMES[role]}","primary":{"true" if enr_primary[i] else "false"}'
                f"{_enrollment_metadata(enr_id[i]) if metadata else ''}}}"
            )
        return out

    def _class_fragment(self, c: int, base: str) -> str:
        d = self.d
        s = d.class_school[c]
        mask = d.class_mask[c]
        cid = d.class_id[c]
        sid = d.schools[s].sourced_id
        dates = self._quarter_dates[s]
        begin, end = dates[_FIRST[mask]][0], dates[_LAST[mask]][1]
        if d.shape.empty_strings:
            begin = end = ""
        return (
            f'"class":{{"href":"{base}/classes/{cid}","sourcedId":"{cid}","type":"class"}},'
            f'"school":{{"href":"{base}/schools/{sid}","sourcedId":"{sid}","type":"org"}},'
            f'"beginDate":"{begin}","endDate":"{end}"'
        )

    def _demographics(self, indices: Sequence[int], base: str) -> list[str]:
        d = self.d
        out = []
        for i in indices:
            pid = d.user_pid[i]
            h = _mix(d.seed * 1_000_003 + pid)
            guid = identity_guid(d.seed, pid)
            year = d.school_year - 5 - max(0, d.user_grade[i]) - (h & 1)
            races = [(h >> (8 + k)) & 7 == 0 for k in range(6)]
            flags = ",".join(
                f'"{name}":{"true" if value else "false"}'
                for name, value in zip(RACE_FIELDS, races, strict=True)
            )
            out.append(
                f'{{"sourcedId":"{guid}","status":"{STATUS_NAMES[d.user_status[i]]}",'
                f'"dateLastModified":"{self.iso(d.user_modified[i])}",'
                f'"birthDate":"{year}-{(h >> 16) % 12 + 1:02d}-{(h >> 20) % 28 + 1:02d}",'
                f'"sex":"{"female" if h >> 3 & 1 else "male"}",{flags},'
                f'"hispanicOrLatinoEthnicity":{"true" if h % 5 == 0 else "false"}}}'
            )
        return out


#: Optional user fields sent empty rather than left out (the ``empty_strings`` shape; a
#: class's ``location`` and an enrollment's ``beginDate``/``endDate`` go empty too).
USER_EMPTY = ',"sms":"","phone":""'

RACE_FIELDS = (
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
)


def room_name(room: int) -> str:
    return f"{ROOM_WINGS[room % len(ROOM_WINGS)]}{room}"


def _mix(value: int) -> int:
    """SplitMix64 finaliser: a cheap deterministic hash for derived attributes."""
    z = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


def _enrollment_metadata(roster_id: int) -> str:
    return f',"metadata":{{"ic.rosterID":"{roster_id}","ic.sourceSystem":"Campus"}}'


def state_id(seed: int, pid: int) -> str:
    """A state student id for the several-userIds shape: ten digits, stable per person."""
    return f"{_mix(seed * 31 + pid) % 10_000_000_000:010d}"


def identity_guid(seed: int, pid: int) -> str:
    """IC's demographics sourcedId is the person's identityGUID."""
    a = _mix(seed * 7919 + pid)
    b = _mix(a + pid)
    value = f"{a:016x}{b:016x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:32]}"
