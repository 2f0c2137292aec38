"""Fixed synthetic material for the demo program: service lines, plans, names, places.

Everything here is invented. Names come from short fixed lists and are combined at random, so any
likeness to a real person is chance. Phone numbers use the 555-01xx range kept for fiction and
e-mail addresses the example.* domains kept for documentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from refloop.directory.enums import DocumentKind as Doc
from refloop.directory.enums import Priority, TargetKind

SYSTEM_NAME = "Lakeshore Health"  # the invented health system that runs the demo program

# Each service line's expected days to the first available new-patient slot (see generator's
# docstring for where these come from), its share of referrals, its priority mix and how often
# its referrals need prior authorization.


@dataclass(frozen=True)
class LineSpec:
    code: str
    name: str
    share: float
    wait_days: float
    priority_mix: tuple[float, float, float]  # routine, urgent, stat
    authorization_share: float
    decline_share: float
    redirect_share: float
    appointment_days: tuple[int, int, int]  # the target, routine / urgent / stat
    description: str
    acceptance_criteria: str
    exclusions: str
    patient_instructions: str
    checklist: tuple[tuple[str, str], ...]
    reasons: tuple[tuple[str, str], ...]  # (reason for referral, ICD-10-CM code)
    age: tuple[int, int] = (50, 17)  # mean and spread of the patients' ages
    plans_not_accepted: tuple[str, ...] = field(default=())


LINES: tuple[LineSpec, ...] = (
    LineSpec(
        code="orthopedics",
        name="Orthopedics",
        share=0.22,
        wait_days=17.0,
        priority_mix=(0.86, 0.12, 0.02),
        authorization_share=0.18,
        decline_share=0.08,
        redirect_share=0.05,
        appointment_days=(21, 7, 1),
        description=(
            "Joint, spine, sports and hand surgery clinics; fracture follow-up; joint "
            "replacement assessment."
        ),
        acceptance_criteria=(
            "Musculoskeletal problem not settled by 6 weeks of conservative care (physiotherapy, "
            "analgesia); suspected surgical lesion on imaging; fracture needing specialist review."
        ),
        exclusions=(
            "Acute trauma or suspected septic joint (send to the emergency department); chronic "
            "widespread pain without a focal lesion (refer to pain medicine)."
        ),
        patient_instructions=(
            "Bring your imaging discs and a list of medicines. Wear loose clothing. Arrive 20 "
            "minutes early to complete the questionnaire."
        ),
        checklist=(
            ("Clinical notes", Doc.NOTES),
            ("X-ray or MRI report", Doc.IMAGING),
            ("Insurance card", Doc.INSURANCE_CARD),
        ),
        reasons=(
            ("Right knee pain for 6 months, failed physiotherapy", "M17.11"),
            ("Left knee osteoarthritis, considering replacement", "M17.12"),
            ("Low back pain with radiculopathy down the left leg", "M54.16"),
            ("Right shoulder pain, suspected rotator cuff tear", "M75.101"),
            ("Right hip pain, primary osteoarthritis on X-ray", "M16.11"),
            ("Numbness in the right hand at night, suspected carpal tunnel", "G56.01"),
            ("Persistent right knee pain after a twisting injury", "M25.561"),
        ),
        age=(54, 16),
    ),
    LineSpec(
        code="cardiology",
        name="Cardiology",
        share=0.18,
        wait_days=26.6,
        priority_mix=(0.82, 0.15, 0.03),
        authorization_share=0.14,
        decline_share=0.07,
        redirect_share=0.04,
        appointment_days=(30, 7, 1),
        description=(
            "General cardiology, arrhythmia, heart failure and preventive cardiology clinics."
        ),
        acceptance_criteria=(
            "Suspected or known structural heart disease, arrhythmia, heart failure, abnormal "
            "ECG or echocardiogram, chest pain with risk factors after a negative acute work-up."
        ),
        exclusions=(
            "Ongoing chest pain or suspected acute coronary syndrome (call 911); uncomplicated "
            "hypertension controlled on one or two drugs (manage in primary care)."
        ),
        patient_instructions=(
            "Bring all your medicines in their boxes and any home blood-pressure readings. You "
            "may have an ECG at the visit: wear a top that opens easily."
        ),
        checklist=(
            ("Clinical notes", Doc.NOTES),
            ("ECG and recent labs", Doc.LABS),
            ("Insurance card", Doc.INSURANCE_CARD),
        ),
        reasons=(
            ("New atrial fibrillation, rate controlled, needs anticoagulation plan", "I48.91"),
            ("Exertional chest pain, negative troponins in the ED", "R07.9"),
            ("Palpitations with a normal resting ECG", "R00.2"),
            ("Shortness of breath and leg swelling, suspected heart failure", "I50.9"),
            ("New systolic murmur", "R01.1"),
            ("Syncope while standing, one episode", "R55"),
            ("Known coronary disease, worsening exercise tolerance", "I25.10"),
        ),
        age=(63, 13),
    ),
    LineSpec(
        code="gastroenterology",
        name="Gastroenterology",
        share=0.16,
        wait_days=40.0,
        priority_mix=(0.85, 0.13, 0.02),
        authorization_share=0.25,
        decline_share=0.09,
        redirect_share=0.05,
        appointment_days=(45, 10, 2),
        description="Gastroenterology and hepatology clinics, endoscopy and colonoscopy.",
        acceptance_criteria=(
            "Positive FIT or abnormal stool test; iron-deficiency anaemia; dysphagia; persistent "
            "reflux despite 8 weeks of treatment; abnormal liver tests on two occasions."
        ),
        exclusions=(
            "Active gastrointestinal bleeding with instability (emergency department); "
            "average-risk screening colonoscopy requests without symptoms (use open access)."
        ),
        patient_instructions=(
            "If a procedure is planned you will receive bowel-preparation instructions by post "
            "and text. Bring a list of medicines, especially blood thinners."
        ),
        checklist=(
            ("Clinical notes", Doc.NOTES),
            ("Recent labs", Doc.LABS),
            ("Insurance card", Doc.INSURANCE_CARD),
        ),
        reasons=(
            ("Positive FIT, needs colonoscopy", "R19.5"),
            ("Iron-deficiency anaemia without a clear cause", "D50.9"),
            ("Reflux symptoms despite PPI for 3 months", "K21.9"),
            ("Abdominal pain and altered bowel habit, suspected IBS", "K58.9"),
            ("Raised liver enzymes, fatty liver on ultrasound", "K76.0"),
            ("Epigastric pain and weight loss", "R10.13"),
            ("Known Crohn's disease, flare on steroids", "K50.90"),
        ),
        age=(55, 15),
    ),
    LineSpec(
        code="dermatology",
        name="Dermatology",
        share=0.14,
        wait_days=34.5,
        priority_mix=(0.88, 0.11, 0.01),
        authorization_share=0.05,
        decline_share=0.12,
        redirect_share=0.04,
        appointment_days=(45, 10, 2),
        description="Medical dermatology, skin-cancer clinic and Mohs surgery.",
        acceptance_criteria=(
            "Changing or suspicious pigmented lesion; suspected skin cancer; inflammatory skin "
            "disease not controlled by first-line treatment; hidradenitis; severe acne."
        ),
        exclusions=(
            "Cosmetic requests; mild acne or eczema not yet treated in primary care; "
            "seborrhoeic keratoses without atypical features."
        ),
        patient_instructions=(
            "Do not wear make-up or nail polish. Bring photos of how the lesion has changed if "
            "you have them."
        ),
        checklist=(
            ("Clinical notes", Doc.NOTES),
            ("Photos of the lesion", Doc.IMAGING),
        ),
        reasons=(
            ("Changing pigmented lesion on the back", "D48.5"),
            ("Plaque psoriasis not controlled on topical steroids", "L40.0"),
            ("Severe atopic dermatitis, considering systemic treatment", "L20.9"),
            ("Nodulocystic acne failing two antibiotics", "L70.0"),
            ("Multiple actinic keratoses on the scalp", "L57.0"),
            ("Many atypical moles, family history of melanoma", "D22.9"),
            ("Recurrent painful nodules in both armpits", "L73.2"),
        ),
        age=(46, 19),
        plans_not_accepted=("Community Medicaid Plan", "Harborview Exchange Bronze"),
    ),
    LineSpec(
        code="oncology",
        name="Oncology",
        share=0.10,
        wait_days=10.0,
        priority_mix=(0.55, 0.40, 0.05),
        authorization_share=0.20,
        decline_share=0.03,
        redirect_share=0.05,
        appointment_days=(14, 5, 1),
        description="Medical oncology and haematology, new cancer diagnoses and second opinions.",
        acceptance_criteria=(
            "Biopsy-proven cancer; imaging highly suspicious of cancer; unexplained lymph node "
            "enlargement over 2 cm for over 4 weeks; abnormal blood count suggesting malignancy."
        ),
        exclusions=(
            "Oncologic emergencies such as cord compression (emergency department); follow-up "
            "of cancer treated over 10 years ago without recurrence (survivorship clinic)."
        ),
        patient_instructions=(
            "A nurse navigator will call you before the visit. Bring a family member if you "
            "wish, your pathology reports and a list of medicines."
        ),
        checklist=(
            ("Clinical notes", Doc.NOTES),
            ("Pathology report", Doc.LABS),
            ("Imaging report", Doc.IMAGING),
        ),
        reasons=(
            ("Biopsy-proven right breast cancer, needs treatment plan", "C50.911"),
            ("Lung mass on CT, biopsy pending", "C34.90"),
            ("Solitary pulmonary nodule growing on follow-up CT", "R91.1"),
            ("Colon cancer after resection, adjuvant treatment", "C18.9"),
            ("Enlarged neck lymph nodes for 6 weeks", "R59.0"),
            ("Rising PSA, prostate cancer on biopsy", "C61"),
            ("Unexplained anaemia with abnormal blood film", "D64.9"),
        ),
        age=(64, 12),
    ),
    LineSpec(
        code="imaging",
        name="Imaging",
        share=0.20,
        wait_days=7.0,
        priority_mix=(0.80, 0.15, 0.05),
        authorization_share=0.40,
        decline_share=0.04,
        redirect_share=0.03,
        appointment_days=(14, 3, 1),
        description="Outpatient MRI, CT, ultrasound, mammography and echocardiography.",
        acceptance_criteria=(
            "A signed order with the clinical question and the study requested; contrast "
            "studies need a recent kidney function result; MRI needs the safety questionnaire."
        ),
        exclusions=(
            "MRI with an unsafe implant; studies that appropriate-use criteria rate as rarely "
            "appropriate (for example low back pain under 6 weeks without red flags)."
        ),
        patient_instructions=(
            "Follow the preparation sheet for your study (fasting, full bladder). Remove metal "
            "objects. Bring the order and your insurance card."
        ),
        checklist=(
            ("Signed order with clinical question", Doc.NOTES),
            ("Insurance card", Doc.INSURANCE_CARD),
        ),
        reasons=(
            ("MRI lumbar spine, back pain over 6 weeks with leg symptoms", "M54.50"),
            ("CT head, new headache pattern", "R51.9"),
            ("Echocardiogram, chest pain work-up", "R07.9"),
            ("MRI right shoulder, suspected cuff tear", "M25.511"),
            ("Ultrasound abdomen, abdominal pain", "R10.9"),
            ("Screening mammogram", "Z12.31"),
        ),
        age=(56, 17),
        plans_not_accepted=("Harborview Exchange Bronze",),
    ),
)

# Hours for routine / urgent / stat (stat hours run around the clock); appointment targets are
# per line (LineSpec.appointment_days), in calendar days.
HOUR_TARGETS = {
    TargetKind.ACKNOWLEDGE: (8, 4, 1),
    TargetKind.TRIAGE: (16, 8, 2),
    TargetKind.FIRST_CONTACT: (24, 8, 2),
    TargetKind.REPORT: (40, 16, 8),
}
PRIORITIES = (Priority.ROUTINE, Priority.URGENT, Priority.STAT)

# (payer, plan, share of patients, needs prior authorization for some services)
PLANS: tuple[tuple[str, str, float, bool], ...] = (
    ("Medicare", "Original Medicare Part B", 0.18, False),
    ("Riverbend Health", "Riverbend Medicare Advantage", 0.10, True),
    ("Community Medicaid Plan", "Community Medicaid Plan", 0.14, True),
    ("Blue Summit", "Blue Summit PPO", 0.14, True),
    ("Blue Summit", "Blue Summit HMO", 0.08, True),
    ("Evergreen Health", "Evergreen HMO", 0.08, True),
    ("Keystone Mutual", "Keystone Mutual PPO", 0.09, True),
    ("Harborview Health Plan", "Harborview Exchange Silver", 0.06, True),
    ("Harborview Health Plan", "Harborview Exchange Bronze", 0.04, True),
    ("Pinnacle Care", "Pinnacle Care EPO", 0.05, True),
)
SELF_PAY_SHARE = 0.04

FEMALE_NAMES = [
    "Abigail",
    "Ada",
    "Alma",
    "Amara",
    "Anita",
    "Beatriz",
    "Bianca",
    "Carla",
    "Celeste",
    "Clara",
    "Dalia",
    "Daphne",
    "Delia",
    "Elena",
    "Elise",
    "Elsa",
    "Esme",
    "Farah",
    "Fiona",
    "Gemma",
    "Greta",
    "Hana",
    "Helena",
    "Ines",
    "Iris",
    "Isla",
    "Joanna",
    "Julia",
    "June",
    "Kara",
    "Keiko",
    "Lana",
    "Leah",
    "Lena",
    "Lila",
    "Lorna",
    "Lucia",
    "Mabel",
    "Maia",
    "Marisol",
    "Mina",
    "Nadia",
    "Nell",
    "Nora",
    "Olive",
    "Paula",
    "Petra",
    "Priya",
    "Rhea",
    "Rosa",
    "Ruth",
    "Selma",
    "Sofia",
    "Talia",
    "Tess",
    "Uma",
    "Vera",
    "Wanda",
    "Yara",
    "Zoe",
]
MALE_NAMES = [
    "Aaron",
    "Abel",
    "Adrian",
    "Alvaro",
    "Amir",
    "Anton",
    "Arlo",
    "Bruno",
    "Caleb",
    "Cyrus",
    "Dario",
    "Declan",
    "Desmond",
    "Elias",
    "Emil",
    "Ezra",
    "Felix",
    "Gideon",
    "Hector",
    "Hugo",
    "Ibrahim",
    "Ivan",
    "Jonah",
    "Jorge",
    "Julian",
    "Kai",
    "Kenji",
    "Lars",
    "Leon",
    "Luca",
    "Malik",
    "Marco",
    "Mateo",
    "Milo",
    "Nikhil",
    "Noel",
    "Omar",
    "Oscar",
    "Otto",
    "Pablo",
    "Quentin",
    "Rafael",
    "Ravi",
    "Reid",
    "Rowan",
    "Rufus",
    "Silas",
    "Soren",
    "Tariq",
    "Theo",
    "Tobias",
    "Umar",
    "Victor",
    "Wade",
    "Walter",
    "Xavier",
    "Yusuf",
    "Zane",
]
LAST_NAMES = [
    "Abernathy",
    "Ackerly",
    "Alcott",
    "Aldana",
    "Ashdown",
    "Barlowe",
    "Bellamy",
    "Birchall",
    "Blakemore",
    "Brennick",
    "Calloway",
    "Carrow",
    "Castellan",
    "Chadwick",
    "Colborne",
    "Corwin",
    "Dacosta",
    "Dalloway",
    "Delacroix",
    "Devereux",
    "Draycott",
    "Dunmore",
    "Eastwick",
    "Ellery",
    "Emberly",
    "Fairbanks",
    "Fennimore",
    "Fitzalan",
    "Fontaine",
    "Galloway",
    "Garroway",
    "Goodall",
    "Greaves",
    "Hadley",
    "Halloran",
    "Harcourt",
    "Hawthorne",
    "Hollis",
    "Huxley",
    "Ingram",
    "Iverson",
    "Jarrow",
    "Kendrick",
    "Kessler",
    "Kingsley",
    "Lachance",
    "Langford",
    "Larkspur",
    "Lindqvist",
    "Lockhart",
    "Loveridge",
    "Mabry",
    "Mallory",
    "Marchetti",
    "Merriweather",
    "Montague",
    "Morrow",
    "Nakamura",
    "Navarro",
    "Northcott",
    "Oakley",
    "Okafor",
    "Oyelaran",
    "Pemberton",
    "Penhallow",
    "Petrakis",
    "Quennell",
    "Radcliffe",
    "Ravensworth",
    "Redfern",
    "Rinaldi",
    "Rowntree",
    "Salcedo",
    "Sandoval",
    "Sayer",
    "Selwyn",
    "Sherwood",
    "Stanhope",
    "Sutcliffe",
    "Tamura",
    "Tennant",
    "Thackeray",
    "Thorne",
    "Tolliver",
    "Trevelyan",
    "Underhill",
    "Vance",
    "Varga",
    "Vasquez",
    "Wainwright",
    "Waverly",
    "Westbrook",
    "Whitlock",
    "Winslow",
    "Wolcott",
    "Yardley",
    "Yeager",
    "Zamora",
    "Zeller",
    "Achterberg",
    "Brightwater",
    "Castellanos",
    "Delgado",
    "Esterhazy",
    "Fairweather",
    "Goldberry",
    "Haverford",
    "Iglesias",
    "Jovanovic",
    "Kowalczyk",
    "Lindgren",
    "Mendelsohn",
    "Nieminen",
    "Ostrowski",
    "Pacheco",
    "Quintero",
    "Rosenqvist",
    "Szabo",
    "Takahashi",
    "Valdivia",
    "Wexford",
]

LANGUAGES: tuple[tuple[str, float, float], ...] = (
    # (language, share of patients, share of those who need an interpreter)
    ("English", 0.82, 0.0),
    ("Spanish", 0.10, 0.55),
    ("Chinese", 0.02, 0.6),
    ("Vietnamese", 0.015, 0.6),
    ("Arabic", 0.01, 0.55),
    ("Russian", 0.01, 0.5),
    ("Haitian Creole", 0.01, 0.6),
    ("Portuguese", 0.015, 0.5),
)

TOWNS = (
    ("Harborview", "44101"),
    ("Millbrook", "44112"),
    ("Cedar Falls", "44120"),
    ("Westbrook", "44125"),
    ("Lakeside", "44130"),
    ("Northfield", "44135"),
    ("Pine Ridge", "44140"),
    ("Riverton", "44145"),
    ("Ashford", "44150"),
    ("Fairhaven", "44155"),
    ("Stonebridge", "44160"),
    ("Willow Bend", "44165"),
)
STATE = "OH"
AREA_CODES = ("216", "440", "330")
STREETS = (
    "Maple Avenue",
    "Oak Street",
    "Lakeshore Drive",
    "Birch Lane",
    "Elm Court",
    "Harbor Road",
    "Cedar Way",
    "Willow Street",
    "Meadow Lane",
    "Ridge Road",
    "Orchard Drive",
    "Chestnut Street",
    "Summit Avenue",
    "Mill Road",
    "Park Place",
    "Spruce Street",
    "Hillcrest Drive",
    "Beacon Street",
    "Aspen Court",
    "Juniper Way",
)
PRACTICE_PLACES = (
    "Riverside",
    "Northgate",
    "Cedar Hill",
    "Lakeview",
    "Maple Grove",
    "Oak Park",
    "Summit",
    "Harbor",
    "Valley",
    "Pinecrest",
    "Brookside",
    "Westfield",
    "Eastgate",
    "Fairview",
    "Greenway",
    "Hillcrest",
    "Meadowbrook",
    "Parkside",
    "Stonebridge",
    "Willow Creek",
    "Ashford",
    "Millbrook",
    "Lakeside",
    "Northfield",
    "Riverton",
    "Fairhaven",
    "Beacon",
    "Crossroads",
    "Heritage",
    "Bayview",
)
PRACTICE_KINDS = (
    ("Family Medicine", "Family Medicine"),
    ("Internal Medicine Associates", "Internal Medicine"),
    ("Primary Care", "Family Medicine"),
    ("Pediatrics", "Pediatrics"),
    ("Women's Health", "Obstetrics and Gynecology"),
    ("Medical Group", "Internal Medicine"),
    ("Community Health Center", "Family Medicine"),
    ("Urgent Care", "Emergency Medicine"),
    ("Heart and Vascular", "Cardiology"),
    ("Family Practice", "Family Medicine"),
)
OWN_FACILITIES = (
    f"{SYSTEM_NAME} Main Campus",
    f"{SYSTEM_NAME} North Clinic",
    f"{SYSTEM_NAME} Imaging Center",
    f"{SYSTEM_NAME} Lakeside Pavilion",  # oncology: a building, not a service, on patient pages
)
HOSPITALS = ("Harborview General Hospital", "St. Brigid Community Hospital")

# Where each referring specialty sends its patients (weights per service line code).
SPECIALTY_LINES = {
    "Family Medicine": {
        "orthopedics": 24,
        "cardiology": 17,
        "gastroenterology": 17,
        "dermatology": 15,
        "oncology": 7,
        "imaging": 20,
    },
    "Internal Medicine": {
        "orthopedics": 18,
        "cardiology": 22,
        "gastroenterology": 20,
        "dermatology": 10,
        "oncology": 10,
        "imaging": 20,
    },
    "Pediatrics": {"orthopedics": 35, "gastroenterology": 25, "dermatology": 30, "imaging": 10},
    "Obstetrics and Gynecology": {"oncology": 25, "dermatology": 10, "imaging": 65},
    "Emergency Medicine": {
        "orthopedics": 45,
        "cardiology": 30,
        "gastroenterology": 15,
        "imaging": 10,
    },
    "Cardiology": {"imaging": 75, "cardiology": 25},
}
CREDENTIALS = (("MD", 0.62), ("DO", 0.12), ("NP", 0.18), ("PA", 0.08))
UPDATE_CHANNELS = (("fax", 0.55), ("direct", 0.15), ("portal", 0.15), ("ehr", 0.12), ("mail", 0.03))
