#!/usr/bin/env python3
"""Regenerate samples/cases.xlsx and samples/cases.csv: about 25 realistic case rows in the shape
a firm's case-management export has, a few deliberately invalid to show the errors.
Needs openpyxl (pip install openpyxl). The outputs are committed; CI does not run this."""
import csv, datetime as dt, os
from openpyxl import Workbook
from openpyxl.styles import Font

HEADERS = ["Case #", "Case Name", "Case Status", "Case Type", "Source", "Source ID", "Court",
           "Jurisdiction", "Date Opened", "Next Court Date", "OBO", "Client IDs", "Description"]
D = dt.date
# Client IDs are Kayse's ids, which a firm's export cannot know: the valid rows leave them empty,
# since Kayse (and the sandbox) refuse a case naming a client that does not exist.
ROWS = [
    ["2024-PI-0001", "Smith v. Johnson", "active", "civil", "clio", "M-10001", "Fulton County Superior Court", "GA", D(2024, 1, 8), D(2025, 2, 14), False, "", "Rear-end collision on I-85"],
    ["2024-PI-0002", "Garcia v. Metro Transit", "active", "civil", "clio", "M-10002", "Cook County Circuit Court", "IL", D(2024, 1, 15), None, False, "", "Bus passenger injury"],
    ["2024-PI-0003", "In re Estate of Okafor", "pending", "probate", "clio", "M-10003", "Harris County Probate Court", "TX", D(2024, 2, 2), D(2025, 3, 3), True, "", "Contested will"],
    ["2024-FA-0004", "Nguyen v. Nguyen", "active", "family", "clio", "M-10004", "Orange County Superior Court", "CA", D(2024, 2, 19), D(2025, 1, 27), False, "", "Custody modification"],
    ["2024-CR-0005", "State v. Williams", "closed", "criminal", "clio", "M-10005", "Maricopa County Superior Court", "AZ", D(2024, 3, 1), None, False, "", "DUI first offense; dismissed"],
    ["2024-PI-0006", "Brown v. Lakeside Apartments", "active", "civil", "clio", "M-10006", "King County Superior Court", "WA", D(2024, 3, 11), D(2025, 4, 8), False, "", "Premises liability: stair collapse"],
    ["2024-EM-0007", "Patel v. Horizon Logistics", "active", "employment", "clio", "M-10007", "N.D. Cal.", "Federal", D(2024, 3, 25), None, False, "", "Wage and hour class claim"],
    ["2024-PI-0008", "O'Brien v. Dutton Foods", "pending", "civil", "clio", "M-10008", "Suffolk Superior Court", "MA", D(2024, 4, 4), D(2025, 5, 19), False, "", "Product liability: contaminated food"],
    ["2024-PI-0009", "Kowalski v. Rivera", "active", "civil", "clio", "M-10009", "Allegheny County Court of Common Pleas", "PA", D(2024, 4, 17), None, False, "", "Dog bite"],
    ["2024-FA-0010", "In re Marriage of Chen", "closed", "family", "clio", "M-10010", "Santa Clara Superior Court", "CA", D(2024, 5, 6), None, False, "", "Dissolution, settled"],
    ["2024-PI-0011", "Johnson v. Allstate", "active", "civil", "clio", "M-10011", "Miami-Dade Circuit Court", "FL", D(2024, 5, 20), D(2025, 6, 2), True, "", "Uninsured motorist claim"],
    ["2024-IM-0012", "Matter of Haddad", "pending", "immigration", "clio", "M-10012", "Immigration Court, Newark", "NJ", D(2024, 6, 3), D(2025, 7, 15), False, "", "Asylum application"],
    ["2024-PI-0013", "Davis v. Northside Hospital", "active", "civil", "clio", "M-10013", "DeKalb County State Court", "GA", D(2024, 6, 24), None, False, "", "Medical malpractice"],
    ["2024-WC-0014", "Thompson workers comp", "active", "workers_comp", "clio", "M-10014", "State Board of Workers' Compensation", "GA", D(2024, 7, 8), D(2025, 2, 28), False, "", "Warehouse back injury"],
    ["2024-PI-0015", "Lee v. Quickride", "active", "civil", "clio", "M-10015", "San Francisco Superior Court", "CA", D(2024, 7, 22), None, False, "", "Rideshare collision"],
    ["2024-CR-0016", "People v. Martinez", "active", "criminal", "clio", "M-10016", "Bronx Criminal Court", "NY", D(2024, 8, 5), D(2025, 1, 30), False, "", "Misdemeanor assault"],
    ["2024-PI-0017", "Wilson v. Acme Ladders", "pending", "civil", "clio", "M-10017", "Hennepin County District Court", "MN", D(2024, 8, 19), None, False, "", "Defective ladder"],
    ["2024-ES-0018", "Estate planning: Moore", "closed", "estate", "clio", "M-10018", "", "OH", D(2024, 9, 2), None, False, "", "Trust drafted and signed"],
    ["2024-PI-0019", "Anderson v. City of Denver", "active", "civil", "clio", "M-10019", "Denver District Court", "CO", D(2024, 9, 16), D(2025, 8, 11), False, "", "Pothole bicycle crash"],
    ["2024-PI-0020", "Taylor v. Greenway Mall", "active", "civil", "clio", "M-10020", "Clark County District Court", "NV", D(2024, 10, 7), None, False, "", "Slip and fall"],
    # Deliberately invalid rows, to show what the results workbook says:
    ["2024-PI-0021", "Harris v. Ortega", "active", "civil", "clio", "M-10021", "Dallas County Court", "TX", "02/30/2025", None, False, "", "Impossible date typed by hand"],
    ["2024-PI-0022", "Clark v. Summit Insurance", "", "civil", "clio", "M-10022", "Wake County Superior Court", "NC", D(2024, 10, 28), None, False, "", "Status left empty"],
    ["2024-PI-0023", "Lewis v. Parker", "active", "civil", "clio", "M-10023", "Shelby County Circuit Court", "TN", D(2024, 11, 4), None, "maybe", "", "Not a yes/no value"],
    ["2024-PI-0006", "Brown v. Lakeside Apartments (copy)", "active", "civil", "clio", "M-10024", "King County Superior Court", "WA", D(2024, 11, 11), None, False, "", "Same case number as an earlier row"],
    ["2024-PI-0025", "Walker v. Beacon Freight", "active", "civil", "clio", "M-10025", "Jefferson County Circuit Court", "KY", D(2024, 11, 18), None, False, "12;abc", "Client id that is not a number"],
]

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples")
wb = Workbook()
ws = wb.active
ws.title = "Cases"
ws.append(HEADERS)
for c in ws[1]:
    c.font = Font(bold=True)
for r in ROWS:
    ws.append(r)
for row in ws.iter_rows(min_row=2):
    for c in row:
        if isinstance(c.value, dt.date):
            c.number_format = "yyyy-mm-dd"
for col, w in zip("ABCDEFGHIJKLM", [14, 34, 12, 13, 8, 10, 36, 12, 12, 15, 7, 10, 36]):
    ws.column_dimensions[col].width = w
ws.freeze_panes = "A2"
wb.save(os.path.join(here, "cases.xlsx"))

with open(os.path.join(here, "cases.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(HEADERS)
    for r in ROWS:
        out = []
        for v in r:
            if isinstance(v, dt.date):
                out.append(v.strftime("%m/%d/%Y"))
            elif isinstance(v, bool):
                out.append("yes" if v else "no")
            elif v is None:
                out.append("")
            else:
                out.append(v)
        w.writerow(out)
