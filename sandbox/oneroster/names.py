"""Name and course pools for generated districts.

Realistic on purpose: apostrophes, hyphens, commas (suffixes), spaces and non-ASCII
letters, because those are what break CSV files and login-id rules in real districts.
All invented combinations; no real people.
"""

from __future__ import annotations

GIVEN_NAMES = (
    "Aaliyah", "Aarav", "Abigail", "Adrián", "Aiden", "Aisha", "Alejandro", "Alexander",
    "Amara", "Amelia", "Ana Sofía", "Andrés", "Angel", "Anh", "Aria", "Ariana", "Arjun",
    "Ava", "Ayesha", "Benjamin", "Bianca", "Brandon", "Brooklyn", "Caleb", "Camila",
    "Carlos", "Carter", "Charlotte", "Chloé", "Christopher", "Chukwuemeka", "Daniel",
    "Darius", "David", "Deja", "Diego", "Dmitri", "Dylan", "Eli", "Elif", "Elijah",
    "Elizabeth", "Ella", "Emily", "Emma", "Esperanza", "Ethan", "Eva", "Evelyn", "Fatima",
    "Felipe", "Finn", "François", "Gabriel", "Genesis", "Grace", "Hana", "Hannah", "Harper",
    "Hiroshi", "Hudson", "Ibrahim", "Imani", "Isabella", "Isaiah", "Jack", "Jackson",
    "Jacob", "Jade", "James", "Jamal", "Jasmine", "Javier", "Jayden", "Jiho", "John",
    "Jorge", "José", "Joseph", "Joshua", "Juan Pablo", "Julia", "Kai", "Kaylee", "Keanu",
    "Kenji", "Khadija", "Kiara", "Layla", "Leah", "Leilani", "Liam", "Lily", "Lucas",
    "Lucía", "Luis", "Madison", "Malik", "María José", "Mariana", "Mason", "Mateo",
    "Matthew", "Maya", "Mei", "Mía", "Michael", "Mohammed", "Naomi", "Natalia", "Nathan",
    "Nevaeh", "Noah", "Nora", "Nguyệt", "Olivia", "Omar", "Oscar", "Paisley", "Pedro",
    "Penélope", "Priya", "Quinn", "Rafael", "Renée", "Riley", "Rosa", "Ruby", "Ryan",
    "Saanvi", "Samuel", "Santiago", "Sarah", "Sebastián", "Siobhán", "Sofia", "Søren",
    "Stella", "Tatiana", "Thomas", "Tomás", "Valentina", "Victoria", "Wei", "William",
    "Ximena", "Yara", "Yusuf", "Zainab", "Zoë", "Zoey", "Ángel", "Élodie", "Íñigo",
    "D'Andre", "Mary-Kate", "Jean-Luc", "Ka'imi", "Anne Marie",
)  # fmt: skip

FAMILY_NAMES = (
    "Abbott", "Acosta", "Adeyemi", "Aguilar", "Ahmed", "Alvarez", "Anderson", "Baker",
    "Banerjee", "Barnes", "Bell", "Bennett", "Brooks", "Brown", "Bui", "Campbell",
    "Castillo", "Castro", "Chavez", "Chen", "Clark", "Collins", "Cook", "Cooper", "Cruz",
    "D'Angelo", "Davis", "DeLeon", "Delgado", "Díaz", "Dubois", "Edwards", "Evans",
    "Fernández", "Flores", "Foster", "García", "Gómez", "González", "Gray", "Green",
    "Gutiérrez", "Hall", "Harris", "Hernández", "Hill", "Hoang", "Howard", "Hughes",
    "Ibáñez", "Jackson", "James", "Jenkins", "Jiménez", "Johnson", "Jones", "Kelly", "Kim",
    "King", "Kowalski", "Le", "Lee", "Lewis", "Li", "López", "Martin", "Martínez",
    "McAllister", "Medina", "Mendoza", "Miller", "Mitchell", "Moore", "Morales", "Morgan",
    "Müller", "Murphy", "Nakamura", "Nelson", "Nguyễn", "Novák", "O'Brien", "O'Connor",
    "Okafor", "Ortiz", "Park", "Parker", "Patel", "Pérez", "Peterson", "Phillips", "Price",
    "Ramírez", "Reyes", "Richardson", "Rivera", "Roberts", "Robinson", "Rodríguez",
    "Rogers", "Ross", "Ruiz", "Sánchez", "Sanders", "Schmidt", "Scott", "Shah", "Singh",
    "Smith", "Søndergaard", "Stewart", "Sullivan", "Tanaka", "Taylor", "Thomas",
    "Thompson", "Torres", "Tran", "Turner", "van der Berg", "Vargas", "Vásquez", "Walker",
    "Wang", "Ward", "Washington", "Watson", "White", "Williams", "Wilson", "Wood", "Wright",
    "Yamamoto", "Young", "Zhang", "Żukowski", "St. John", "Smith, Jr.", "Johnson, III",
    "García-López", "Al-Sayed", "N'Diaye", "Ó Súilleabháin",
)  # fmt: skip

DISTRICT_NAMES = (
    ("Lakeview Unified School District", "lakeview"),
    ("Cedar Valley Public Schools", "cedarvalley"),
    ("Riverbend Independent School District", "riverbend"),
    ("Pine Ridge County Schools", "pineridge"),
    ("Summit Heights School District", "summitheights"),
)

SCHOOL_NAMES = (
    "Abraham Lincoln", "Amelia Earhart", "Benito Juárez", "Cesar Chavez", "Clara Barton",
    "Dolores Huerta", "Eleanor Roosevelt", "Frederick Douglass", "George Washington Carver",
    "Harriet Tubman", "Helen Keller", "Jackie Robinson", "Jane Addams", "John Muir",
    "Katherine Johnson", "Lewis & Clark", "Marie Curie", "Martin Luther King Jr.",
    "Mary McLeod Bethune", "Maya Angelou", "O'Callaghan", "Ochoa", "Peña", "Rachel Carson",
    "Roberto Clemente", "Rosa Parks", "Sacagawea", "Sally Ride", "Sequoyah",
    "Sojourner Truth", "Sonia Sotomayor", "Thurgood Marshall", "Walt Whitman",
    "Wilma Mankiller", "Booker T. Washington", "Ellen Ochoa", "Sandra Day O'Connor",
    "Hillcrest", "Lakeside", "Meadowbrook", "North Valley", "Oak Grove", "Parkview",
    "Ridgecrest", "Riverside", "Southridge", "Sunnyslope", "Westwood", "Willow Creek",
)  # fmt: skip

#: (code, title, subject, grades) per school level. Titles include non-ASCII on purpose.
CATALOG = {
    "elementary": (
        ("HR", "Homeroom", "Homeroom"), ("ELA", "English Language Arts", "Language Arts"),
        ("MATH", "Mathematics", "Mathematics"), ("SCI", "Science", "Science"),
        ("SS", "Social Studies", "Social Studies"), ("ART", "Art", "Fine Arts"),
        ("MUS", "Music", "Fine Arts"), ("PE", "Physical Education", "Physical Education"),
        ("SPA", "Español", "World Languages"), ("LIB", "Library & Media", "Library"),
        ("STEM", "STEM Lab", "Science"), ("READ", "Reading Intervention", "Language Arts"),
    ),
    "middle": (
        ("ELA", "English 7/8", "Language Arts"), ("MATH", "Pre-Algebra", "Mathematics"),
        ("ALG", "Algebra I", "Mathematics"), ("SCI", "Life Science", "Science"),
        ("PHYS", "Physical Science", "Science"), ("HIST", "U.S. History", "Social Studies"),
        ("GEO", "World Geography", "Social Studies"), ("SPA", "Español I", "World Languages"),
        ("FRE", "Français I", "World Languages"), ("ART", "Visual Art", "Fine Arts"),
        ("BAND", "Concert Band", "Fine Arts"), ("CHOR", "Choir", "Fine Arts"),
        ("PE", "Physical Education", "Physical Education"),
        ("TECH", "Computer Science Discoveries", "Technology"),
        ("HLTH", "Health", "Health"), ("ADV", "Advisory", "Homeroom"),
    ),
    "high": (
        ("ENG9", "English 9", "Language Arts"), ("ENG10", "English 10", "Language Arts"),
        ("ENG11", "American Literature", "Language Arts"),
        ("ENG12", "British Literature", "Language Arts"),
        ("ALG1", "Algebra I", "Mathematics"), ("GEOM", "Geometry", "Mathematics"),
        ("ALG2", "Algebra II", "Mathematics"), ("PREC", "Pre-Calculus", "Mathematics"),
        ("CALC", "AP Calculus AB", "Mathematics"), ("STAT", "AP Statistics", "Mathematics"),
        ("BIO", "Biology", "Science"), ("CHEM", "Chemistry", "Science"),
        ("PHYS", "Physics", "Science"), ("ENVS", "AP Environmental Science", "Science"),
        ("WHIST", "World History", "Social Studies"), ("USHIST", "U.S. History", "Social Studies"),
        ("GOV", "Government & Economics", "Social Studies"),
        ("PSYCH", "Psychology", "Social Studies"),
        ("SPA1", "Español I", "World Languages"), ("SPA2", "Español II", "World Languages"),
        ("FRE1", "Français I", "World Languages"), ("GER1", "Deutsch I", "World Languages"),
        ("ART1", "Art I", "Fine Arts"), ("BAND", "Symphonic Band", "Fine Arts"),
        ("THEA", "Theatre Arts", "Fine Arts"), ("PE", "Physical Education", "Physical Education"),
        ("HLTH", "Health", "Health"), ("CSP", "AP Computer Science Principles", "Technology"),
        ("ROTC", "JROTC", "Electives"), ("CULI", "Culinary Arts", "Career & Technical"),
    ),
}  # fmt: skip

COURSE_VARIANTS = ("", " Honors", " Lab", " (Online)", " Block", " Extended")

ROOM_WINGS = ("A", "B", "C", "D", "E", "Gym", "Portable")
