"""myInfo: patients' changes to their demographics and insurance, reviewed by staff field by
field; insurance card images."""
