#!/usr/bin/env python3
"""Fill an Odoo 19 database with customers, products, confirmed orders and carts.

Set-based SQL only (``INSERT ... SELECT generate_series``), no ORM: 100,000
partners and 1,000,000 order lines take minutes. The rows are complete enough
for the ORM to use them as if they had been created through it: every NOT NULL
column is filled, and so are the stored computed fields the ORM would have
set (``commercial_partner_id``, ``complete_name``, ``email_normalized``, order
and line amounts with the company's sale tax, invoice status, ...).
``bench/check_generated.py`` recomputes a sample with the ORM to prove it.

Everything random comes from PostgreSQL's ``random()`` seeded with ``--seed``,
so two runs with the same arguments on the same database produce the same data.

Usage::

    python3 bench/generate.py --db NAME --partners 100000 --orders 200000 \\
        --lines-per-order 5 --carts 5000

The database must already have ``sale_management`` and ``website_sale``
installed (``smb_journey`` pulls them in).
"""

import argparse
import contextlib
import sys
import time

import psycopg2

# --------------------------------------------------------------------------
# Sample values
# --------------------------------------------------------------------------

# (display name, ascii form for the email address)
FIRST_NAMES = [
    ("Emma", "emma"), ("Liam", "liam"), ("Olivia", "olivia"), ("Noah", "noah"), ("Ava", "ava"),
    ("Lucas", "lucas"), ("Mia", "mia"), ("Hugo", "hugo"), ("Léa", "lea"), ("Louis", "louis"),
    ("Chloé", "chloe"), ("Jules", "jules"), ("Sofia", "sofia"), ("Mateo", "mateo"), ("Lena", "lena"),
    ("Finn", "finn"), ("Hannah", "hannah"), ("Jonas", "jonas"), ("Giulia", "giulia"), ("Marco", "marco"),
    ("Sara", "sara"), ("Diego", "diego"), ("Lucía", "lucia"), ("Pablo", "pablo"), ("Anna", "anna"),
    ("Daan", "daan"), ("Sanne", "sanne"), ("Oliver", "oliver"), ("Amelia", "amelia"), ("George", "george"),
    ("Isla", "isla"), ("Jack", "jack"), ("Zoé", "zoe"), ("Arthur", "arthur"), ("Inès", "ines"),
    ("Noé", "noe"), ("Elena", "elena"), ("Luca", "luca"), ("Nina", "nina"), ("Tom", "tom"),
    ("Charlotte", "charlotte"), ("Ethan", "ethan"), ("Grace", "grace"), ("Henry", "henry"), ("Maya", "maya"),
    ("Priya", "priya"), ("Arjun", "arjun"), ("Yuki", "yuki"), ("Kenji", "kenji"), ("Camila", "camila"),
]
LAST_NAMES = [
    ("Smith", "smith"), ("Johnson", "johnson"), ("Brown", "brown"), ("Taylor", "taylor"), ("Wilson", "wilson"),
    ("Martin", "martin"), ("Bernard", "bernard"), ("Dubois", "dubois"), ("Lefèvre", "lefevre"), ("Moreau", "moreau"),
    ("Müller", "mueller"), ("Schmidt", "schmidt"), ("Schneider", "schneider"), ("Fischer", "fischer"),
    ("Weber", "weber"), ("Rossi", "rossi"), ("Russo", "russo"), ("Ferrari", "ferrari"), ("Bianchi", "bianchi"),
    ("García", "garcia"), ("Fernández", "fernandez"), ("López", "lopez"), ("Martínez", "martinez"),
    ("De Jong", "dejong"), ("Jansen", "jansen"), ("Peeters", "peeters"), ("Janssens", "janssens"),
    ("Evans", "evans"), ("Walker", "walker"), ("Clarke", "clarke"), ("Roux", "roux"), ("Fontaine", "fontaine"),
    ("Keller", "keller"), ("Huber", "huber"), ("Costa", "costa"), ("Silva", "silva"), ("Sato", "sato"),
    ("Tanaka", "tanaka"), ("Patel", "patel"), ("Sharma", "sharma"), ("Nguyen", "nguyen"), ("Kim", "kim"),
]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "shop.example.org"]

# digits of a full mobile number (country code included), so that Odoo's
# phone validation (phonenumbers) takes the generated ones as valid
PHONE_DIGITS = {"GB": 12, "DE": 13, "IT": 12, "IN": 12, "JP": 12, "BR": 13}

# country code, weight, preferred language, timezone, cities, national mobile prefix
COUNTRIES = [
    ("US", 20, "en_US", "America/New_York", ["New York", "Chicago", "Austin", "Seattle", "Boston"], "1212555"),
    ("GB", 10, "en_GB", "Europe/London", ["London", "Manchester", "Leeds", "Bristol"], "447400"),
    ("FR", 12, "fr_FR", "Europe/Paris", ["Paris", "Lyon", "Lille", "Nantes", "Bordeaux"], "336"),
    ("BE", 8, "fr_BE", "Europe/Brussels", ["Brussels", "Liège", "Namur", "Ghent", "Antwerp"], "32470"),
    ("DE", 10, "de_DE", "Europe/Berlin", ["Berlin", "Hamburg", "Munich", "Cologne"], "49151"),
    ("NL", 6, "nl_NL", "Europe/Amsterdam", ["Amsterdam", "Rotterdam", "Utrecht"], "3161"),
    ("ES", 6, "es_ES", "Europe/Madrid", ["Madrid", "Barcelona", "Valencia", "Seville"], "346"),
    ("IT", 6, "it_IT", "Europe/Rome", ["Rome", "Milan", "Turin", "Naples"], "39347"),
    ("CH", 3, "de_CH", "Europe/Zurich", ["Zurich", "Geneva", "Basel"], "4179"),
    ("CA", 5, "en_CA", "America/Toronto", ["Toronto", "Montreal", "Vancouver"], "1416555"),
    ("AU", 4, "en_AU", "Australia/Sydney", ["Sydney", "Melbourne", "Brisbane"], "614"),
    ("IN", 4, "en_IN", "Asia/Kolkata", ["Mumbai", "Bangalore", "Delhi"], "9198"),
    ("JP", 3, "ja_JP", "Asia/Tokyo", ["Tokyo", "Osaka", "Kyoto"], "81901"),
    ("BR", 3, "pt_BR", "America/Sao_Paulo", ["São Paulo", "Rio de Janeiro"], "55119"),
]
STREETS = ["Main Street", "Station Road", "Rue de la Paix", "Hauptstraße", "Via Roma", "Calle Mayor",
           "Kerkstraat", "Park Avenue", "High Street", "Avenue Louise"]

PRODUCT_ADJECTIVES = ["Classic", "Organic", "Premium", "Compact", "Eco", "Deluxe", "Smart", "Vintage",
                      "Everyday", "Pro", "Handmade", "Travel"]
PRODUCT_NOUNS = ["Coffee Beans", "Tea Set", "Desk Lamp", "Backpack", "Water Bottle", "Notebook", "Chair",
                 "Cutting Board", "Headphones", "Candle", "Blanket", "Plant Pot", "Mug", "Sneakers",
                 "Sunglasses", "Wallet", "Umbrella", "Olive Oil", "Chocolate Box", "Yoga Mat"]

SEED_DEFAULT = 42


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


@contextlib.contextmanager
def timed(label, timings):
    start = time.monotonic()
    print(f"  {label} ...", end="", flush=True)
    yield
    elapsed = time.monotonic() - start
    timings.append((label, elapsed))
    print(f" {elapsed:.1f}s", flush=True)


def table_columns(cr, table):
    """{column: (nullable, has_default)} of ``table``."""
    cr.execute(
        """SELECT column_name, is_nullable = 'YES', column_default IS NOT NULL
             FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = %s""",
        [table],
    )
    return {name: (nullable, has_default) for name, nullable, has_default in cr.fetchall()}


def insert_select(cr, table, values, from_clause, params=None):
    """``INSERT INTO table (cols) SELECT exprs FROM from_clause``.

    ``values`` maps column -> SQL expression; columns the table does not have
    (a module not installed) are left out. Refuses to run when the table has
    a NOT NULL column without default that ``values`` does not fill: a module
    added a required field this generator does not know about yet.
    """
    columns = table_columns(cr, table)
    missing = sorted(
        name for name, (nullable, has_default) in columns.items()
        if not nullable and not has_default and name not in values
    )
    if missing:
        raise SystemExit(f"{table}: NOT NULL columns not filled by the generator: {', '.join(missing)}")
    used = [(col, expr) for col, expr in values.items() if col in columns]
    query = "INSERT INTO {} ({}) SELECT {} FROM {}".format(
        table, ", ".join(f'"{c}"' for c, __ in used), ", ".join(e for __, e in used), from_clause,
    )
    cr.execute(query, params)
    return cr.rowcount


def xmlid(cr, module, name):
    cr.execute("SELECT res_id FROM ir_model_data WHERE module = %s AND name = %s", [module, name])
    row = cr.fetchone()
    return row and row[0]


class Context:
    """Ids the generated rows point to, read from the database."""

    def __init__(self, cr, company_id=None):
        cols = table_columns(cr, "res_company")
        extra = [c for c in ("account_sale_tax_id", "tax_calculation_rounding_method", "portal_confirmation_sign",
                             "portal_confirmation_pay", "prepayment_percent", "quotation_validity_days")]
        select = ", ".join(c if c in cols else "NULL" for c in extra)
        cr.execute(
            f"SELECT id, currency_id, {select} FROM res_company "
            + ("WHERE id = %s" if company_id else "ORDER BY id LIMIT 1"),
            [company_id] if company_id else [],
        )
        row = cr.fetchone()
        if not row:
            raise SystemExit("no company found")
        (self.company_id, self.currency_id, sale_tax_id, rounding, self.require_signature,
         self.require_payment, self.prepayment_percent, self.validity_days) = row
        self.round_globally = rounding == "round_globally"
        self.require_signature = bool(self.require_signature)
        self.require_payment = bool(self.require_payment)
        self.prepayment_percent = self.prepayment_percent if self.prepayment_percent is not None else 1.0
        self.validity_days = self.validity_days or 30

        # the company's default sale tax, if a simple percentage added to the price
        self.tax_id, self.tax_rate = None, 0.0
        if sale_tax_id:
            cr.execute(
                """SELECT t.id, t.amount FROM account_tax t JOIN res_company c ON c.id = t.company_id
                    WHERE t.id = %s AND t.amount_type = 'percent' AND t.active
                      AND COALESCE(t.price_include_override, c.account_price_include, 'tax_excluded')
                          = 'tax_excluded'""",
                [sale_tax_id],
            )
            row = cr.fetchone()
            if row:
                self.tax_id, self.tax_rate = row[0], float(row[1]) / 100.0

        cr.execute(
            """SELECT id FROM product_pricelist
                WHERE active AND currency_id = %s AND (company_id IS NULL OR company_id = %s)
                ORDER BY sequence, id LIMIT 1""",
            [self.currency_id, self.company_id],
        )
        row = cr.fetchone()
        self.pricelist_id = row and row[0]

        self.uom_id = xmlid(cr, "uom", "product_uom_unit")
        if not self.uom_id:
            cr.execute("SELECT id FROM uom_uom ORDER BY id LIMIT 1")
            self.uom_id = cr.fetchone()[0]
        self.categ_id = xmlid(cr, "product", "product_category_goods") or xmlid(cr, "product", "product_category_all")
        if not self.categ_id:
            cr.execute("SELECT id FROM product_category ORDER BY id LIMIT 1")
            self.categ_id = cr.fetchone()[0]
        self.user_id = xmlid(cr, "base", "user_admin") or 2
        # what website_sale puts on website orders
        self.website_payment_term_id = xmlid(cr, "account", "account_payment_term_immediate")
        self.team_id = xmlid(cr, "sales_team", "team_sales_department")

        cr.execute(
            "SELECT id, salesteam_id, salesperson_id FROM website WHERE company_id = %s ORDER BY sequence, id LIMIT 1",
            [self.company_id],
        )
        row = cr.fetchone()
        if not row:
            raise SystemExit("no website for the company: install website_sale")
        self.website_id, website_team, website_user = row
        self.website_team_id = website_team or self.team_id
        self.website_user_id = website_user or self.user_id

        cr.execute("SELECT code FROM res_lang WHERE active ORDER BY code")
        self.langs = [code for (code,) in cr.fetchall()]
        cr.execute("SELECT code, id FROM res_country WHERE code = ANY(%s)", [[c[0] for c in COUNTRIES]])
        self.country_ids = dict(cr.fetchall())


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------


def generate_products(cr, ctx, count):
    """``count`` published, saleable goods (template + variant), with the sale tax."""
    cr.execute("SELECT COALESCE(MAX(website_sequence), 10000) FROM product_template")
    (website_seq,) = cr.fetchone()
    cr.execute("DROP TABLE IF EXISTS bench_product")
    cr.execute(
        """CREATE TEMP TABLE bench_product AS
           SELECT g AS rn,
                  nextval('product_template_id_seq')::int AS tmpl_id,
                  nextval('product_product_id_seq')::int AS id,
                  (%(adj)s::text[])[1 + (g - 1) %% %(nadj)s]
                      || ' ' || (%(nouns)s::text[])[1 + ((g - 1) / %(nadj)s) %% %(nnouns)s]
                      || CASE WHEN g > %(nadj)s * %(nnouns)s
                              THEN ' ' || (g / (%(nadj)s * %(nnouns)s) + 1)::text ELSE '' END AS name,
                  'BENCH-' || lpad(g::text, 5, '0') AS code,
                  -- prices from 4.90 to ~200, most under 50
                  round((4.9 + power(random(), 3) * 195)::numeric, 0) - 0.1 AS price
             FROM generate_series(1, %(count)s) g""",
        dict(adj=PRODUCT_ADJECTIVES, nadj=len(PRODUCT_ADJECTIVES), nouns=PRODUCT_NOUNS,
             nnouns=len(PRODUCT_NOUNS), count=count),
    )
    now = "(now() AT TIME ZONE 'UTC')"
    insert_select(cr, "product_template", {
        "id": "tmpl_id",
        "name": "jsonb_build_object('en_US', name)",
        "description_sale": "NULL",
        "default_code": "code",
        "variants_default_code": "code",
        "sequence": "1",
        "categ_id": str(ctx.categ_id),
        "uom_id": str(ctx.uom_id),
        "type": "'consu'",
        "service_tracking": "'no'",
        "tracking": "'none'",  # with Inventory (stock)
        "service_type": "'manual'",
        "expense_policy": "'no'",
        "invoice_policy": "'order'",
        "list_price": "price",
        "volume": "0",
        "weight": "0",
        "sale_ok": "true",
        "purchase_ok": "true",
        "active": "true",
        "color": "0",
        "can_image_1024_be_zoomed": "false",
        "has_configurable_attributes": "false",
        "is_favorite": "false",
        "is_published": "true",
        "is_seo_optimized": "false",
        "publish_date": f"date_trunc('second', {now})",
        "website_sequence": f"{website_seq} + 5 * rn",
        "website_size_x": "1",
        "website_size_y": "1",
        "base_unit_count": "1",
        "rating_last_value": "0",
        "create_uid": "1", "write_uid": "1", "create_date": now, "write_date": now,
    }, "bench_product")
    insert_select(cr, "product_product", {
        "id": "id",
        "product_tmpl_id": "tmpl_id",
        "default_code": "code",
        "combination_indices": "''",
        "active": "true",
        "can_image_variant_1024_be_zoomed": "false",
        "is_favorite": "false",
        "base_unit_count": "1",
        "create_uid": "1", "write_uid": "1", "create_date": now, "write_date": now,
    }, "bench_product")
    if ctx.tax_id:
        cr.execute("INSERT INTO product_taxes_rel (prod_id, tax_id) SELECT tmpl_id, %s FROM bench_product",
                   [ctx.tax_id])
    return count


def stage_partners(cr, ctx, count, start):
    """Random attributes of ``count`` customers in a temp table (ids drawn)."""
    # weighted country choice: an array with each country index repeated `weight` times
    countries = [c for c in COUNTRIES if c[0] in ctx.country_ids]
    pick = [i + 1 for i, c in enumerate(countries) for __ in range(c[1])]
    langs = [c[2] if c[2] in ctx.langs else ("en_US" if "en_US" in ctx.langs else ctx.langs[0]) for c in countries]
    cities = [c[4][j % len(c[4])] for c in countries for j in range(5)]  # 5 per country, flattened
    cr.execute("DROP TABLE IF EXISTS bench_partner")
    cr.execute(
        """CREATE TEMP TABLE bench_partner AS
           SELECT rn, nextval('res_partner_id_seq')::int AS id, fi, li, ci, di, ti, has_phone, created, phone_n
             FROM (SELECT g AS rn,
                          1 + floor(random() * %(nf)s)::int AS fi,
                          1 + floor(random() * %(nl)s)::int AS li,
                          (%(pick)s::int[])[1 + floor(random() * %(npick)s)::int] AS ci,
                          1 + floor(random() * %(nd)s)::int AS di,
                          floor(random() * 5)::int AS ti,
                          random() < 0.7 AS has_phone,
                          floor(random() * 1000000)::int AS phone_n,
                          %(start)s::timestamp - random() * interval '1095 days' AS created
                     FROM generate_series(1, %(count)s) g
                    OFFSET 0) s
            ORDER BY rn""",
        dict(nf=len(FIRST_NAMES), nl=len(LAST_NAMES), pick=pick, npick=len(pick), nd=len(EMAIL_DOMAINS),
             count=count, start=start),
    )
    cr.execute("ALTER TABLE bench_partner ADD PRIMARY KEY (rn)")
    return dict(countries=countries, langs=langs, cities=cities)


def stage_orders(cr, ctx, orders, carts, lines_per_order, nb_partners, nb_products, start):
    """Orders (confirmed) and carts (draft website orders) with their lines, in temp tables."""
    cr.execute("DROP TABLE IF EXISTS bench_order")
    # a few customers order a lot: the partner index is skewed towards low ranks
    cr.execute(
        """CREATE TEMP TABLE bench_order AS
           SELECT nextval('sale_order_id_seq')::int AS id, o.rn, o.is_cart, o.nlines, o.web,
                  p.id AS partner_id,
                  CASE WHEN o.is_cart
                       THEN %(start)s::timestamp - o.r_date * interval '72 hours'
                       ELSE greatest(p.created, %(start)s::timestamp - interval '730 days')
                            + o.r_date * (%(start)s::timestamp
                                          - greatest(p.created, %(start)s::timestamp - interval '730 days'))
                  END AS date_order
             FROM (SELECT g AS rn, g > %(orders)s AS is_cart,
                          1 + floor(power(random(), 1.6) * %(np)s)::int AS prn,
                          CASE WHEN g > %(orders)s THEN 1 + floor(random() * 3)::int
                               ELSE 1 + floor(random() * (2 * %(lpo)s - 1))::int END AS nlines,
                          g > %(orders)s OR random() < 0.4 AS web,
                          random() AS r_date
                     FROM generate_series(1, %(total)s) g
                   OFFSET 0) o
             JOIN bench_partner p ON p.rn = o.prn
            ORDER BY o.rn""",
        dict(start=start, orders=orders, np=nb_partners, lpo=lines_per_order, total=orders + carts),
    )
    cr.execute("ALTER TABLE bench_order ADD PRIMARY KEY (id)")
    cr.execute("DROP TABLE IF EXISTS bench_line")
    rate = ctx.tax_rate
    cr.execute(
        """CREATE TEMP TABLE bench_line AS
           SELECT nextval('sale_order_line_id_seq')::int AS id, l.*,
                  round(l.qty * p.price * (1 - l.discount / 100.0), 2) AS subtotal,
                  l.qty * p.price * (1 - l.discount / 100.0) * %(rate)s AS raw_tax,
                  p.price AS price_unit, p.id AS product_id, p.name AS pname, p.code
             FROM (SELECT o.id AS order_id, o.partner_id, o.is_cart, o.date_order, i AS seq,
                          1 + floor(random() * %(nprod)s)::int AS pidx,
                          (1 + floor(power(random(), 4) * 4))::numeric AS qty,
                          CASE WHEN random() < 0.05 THEN 10.0 ELSE 0.0 END AS discount
                     FROM bench_order o, generate_series(1, o.nlines) i
                   OFFSET 0) l
             JOIN bench_product p ON p.rn = l.pidx
            ORDER BY l.order_id, l.seq""",
        dict(nprod=nb_products, rate=rate),
    )
    cr.execute("ALTER TABLE bench_line ADD COLUMN tax numeric")
    cr.execute("UPDATE bench_line SET tax = round(raw_tax, 2)")
    cr.execute("DROP TABLE IF EXISTS bench_order_amount")
    tax_sum = "round(sum(raw_tax), 2)" if ctx.round_globally else "sum(tax)"
    cr.execute(
        f"""CREATE TEMP TABLE bench_order_amount AS
            SELECT order_id, sum(subtotal) AS untaxed, {tax_sum} AS tax
              FROM bench_line GROUP BY order_id"""
    )
    cr.execute("ALTER TABLE bench_order_amount ADD PRIMARY KEY (order_id)")


def insert_partners(cr, ctx, info, start):
    cr.execute("SELECT count(*) FROM bench_partner")
    countries = info["countries"]
    params = dict(
        firsts=[f for f, __ in FIRST_NAMES], firsts_a=[a for __, a in FIRST_NAMES],
        lasts=[n for n, __ in LAST_NAMES], lasts_a=[a for __, a in LAST_NAMES],
        domains=EMAIL_DOMAINS, country_ids=[ctx.country_ids[c[0]] for c in countries],
        langs=info["langs"], tzs=[c[3] for c in countries], cities=info["cities"],
        prefixes=[c[5] for c in countries], streets=STREETS, nstreets=len(STREETS),
        digits=[PHONE_DIGITS.get(c[0], 11) for c in countries],
    )
    name = "(%(firsts)s::text[])[p.fi] || ' ' || (%(lasts)s::text[])[p.li]"
    email = ("(%(firsts_a)s::text[])[p.fi] || '.' || (%(lasts_a)s::text[])[p.li] || '.' || p.id::text"
             " || '@' || (%(domains)s::text[])[p.di]")
    phone = ("CASE WHEN p.has_phone THEN '+' || (%(prefixes)s::text[])[p.ci]"
             " || lpad((p.phone_n %% power(10, LEAST(6, (%(digits)s::int[])[p.ci]"
             " - length((%(prefixes)s::text[])[p.ci])))::int)::text,"
             " (%(digits)s::int[])[p.ci] - length((%(prefixes)s::text[])[p.ci]), '0') END")
    return insert_select(cr, "res_partner", {
        "id": "p.id",
        "name": name,
        "complete_name": name,
        "email": email,
        "email_normalized": f"lower({email})",
        "phone": phone,
        "phone_sanitized": phone,
        "lang": "(%(langs)s::text[])[p.ci]",
        "tz": "(%(tzs)s::text[])[p.ci]",
        "country_id": "(%(country_ids)s::int[])[p.ci]",
        "city": "(%(cities)s::text[])[(p.ci - 1) * 5 + 1 + p.ti]",
        "street": "(1 + p.phone_n %% 199)::text || ' ' || (%(streets)s::text[])[1 + p.rn %% %(nstreets)s]",
        "zip": "lpad((p.phone_n %% 90000 + 10000)::text, 5, '0')",
        "commercial_partner_id": "p.id",
        "company_id": "NULL",
        "type": "'contact'",
        "active": "true",
        "is_company": "false",
        "employee": "false",
        "partner_share": "true",
        "color": "0",
        "message_bounce": "0",
        "customer_rank": "COALESCE(c.n, 0)",
        "supplier_rank": "0",
        "autopost_bills": "'ask'",
        "is_published": "false",
        "is_pickup_location": "false",
        "smb_journey_optout": "false",
        "create_uid": "1", "write_uid": "1", "create_date": "p.created", "write_date": "p.created",
    }, """bench_partner p
          LEFT JOIN (SELECT partner_id, count(*) AS n FROM bench_order WHERE NOT is_cart GROUP BY partner_id) c
                 ON c.partner_id = p.id""", params)


def insert_orders(cr, ctx):
    params = dict(
        company=ctx.company_id, currency=ctx.currency_id, pricelist=ctx.pricelist_id,
        user=ctx.user_id, team=ctx.team_id, web_user=ctx.website_user_id, web_team=ctx.website_team_id,
        website=ctx.website_id, sign=ctx.require_signature, pay=ctx.require_payment,
        prepay=ctx.prepayment_percent, validity=ctx.validity_days, web_term=ctx.website_payment_term_id,
    )
    return insert_select(cr, "sale_order", {
        "id": "o.id",
        "name": "CASE WHEN o.is_cart THEN 'SBC' ELSE 'SB' END || lpad(o.id::text, 7, '0')",
        "state": "CASE WHEN o.is_cart THEN 'draft' ELSE 'sale' END",
        "company_id": "%(company)s",
        "partner_id": "o.partner_id",
        "partner_invoice_id": "o.partner_id",
        "partner_shipping_id": "o.partner_id",
        "pricelist_id": "%(pricelist)s",
        "currency_id": "%(currency)s",
        "currency_rate": "1.0",
        "user_id": "CASE WHEN o.web THEN %(web_user)s ELSE %(user)s END",
        "team_id": "CASE WHEN o.web THEN %(web_team)s ELSE %(team)s END",
        "website_id": "CASE WHEN o.web THEN %(website)s END",
        "date_order": "o.date_order",
        "validity_date": "(o.date_order + %(validity)s * interval '1 day')::date",
        "access_token": "gen_random_uuid()::text",
        "invoice_status": "CASE WHEN o.is_cart THEN 'no' ELSE 'to invoice' END",
        "amount_untaxed": "a.untaxed",
        "amount_tax": "a.tax",
        "amount_total": "a.untaxed + a.tax",
        "locked": "false",
        "picking_policy": "'direct'",  # with Inventory (stock)
        "require_signature": "%(sign)s AND NOT o.web",
        "payment_term_id": "CASE WHEN o.web THEN %(web_term)s END",
        "require_payment": "%(pay)s",
        "prepayment_percent": "%(prepay)s",
        "cart_recovery_email_sent": "false",
        "recompute_delivery_price": "false",
        "shipping_weight": "0",
        "create_uid": "1", "write_uid": "1", "create_date": "o.date_order", "write_date": "o.date_order",
    }, "bench_order o JOIN bench_order_amount a ON a.order_id = o.id", params)


def insert_lines(cr, ctx):
    params = dict(company=ctx.company_id, currency=ctx.currency_id, uom=ctx.uom_id,
                  user=ctx.user_id, web_user=ctx.website_user_id)
    count = insert_select(cr, "sale_order_line", {
        "id": "l.id",
        "order_id": "l.order_id",
        "sequence": "10 * l.seq",
        "company_id": "%(company)s",
        "currency_id": "%(currency)s",
        "order_partner_id": "l.partner_id",
        "salesman_id": "CASE WHEN o.web THEN %(web_user)s ELSE %(user)s END",
        "product_id": "l.product_id",
        "product_uom_id": "%(uom)s",
        "name": "'[' || l.code || '] ' || l.pname",
        "state": "CASE WHEN l.is_cart THEN 'draft' ELSE 'sale' END",
        "qty_delivered_method": "'manual'",
        "invoice_status": "CASE WHEN l.is_cart THEN 'no' ELSE 'to invoice' END",
        "product_uom_qty": "l.qty",
        "price_unit": "l.price_unit",
        "technical_price_unit": "l.price_unit",
        "discount": "l.discount",
        "price_subtotal": "l.subtotal",
        "price_tax": "l.tax",
        "price_total": "l.subtotal + l.tax",
        "price_reduce_taxexcl": "l.subtotal / l.qty",
        "price_reduce_taxinc": "(l.subtotal + l.tax) / l.qty",
        "qty_delivered": "0",
        "qty_invoiced": "0",
        "qty_to_invoice": "CASE WHEN l.is_cart THEN 0 ELSE l.qty END",
        "untaxed_amount_invoiced": "0",
        "untaxed_amount_to_invoice": "CASE WHEN l.is_cart THEN 0 ELSE l.subtotal END",
        "customer_lead": "0",
        "is_downpayment": "false",
        "is_expense": "false",
        "is_delivery": "false",
        "is_optional": "false",
        "collapse_prices": "false",
        "collapse_composition": "false",
        "points_cost": "0",
        "create_uid": "1", "write_uid": "1", "create_date": "l.date_order", "write_date": "l.date_order",
    }, "bench_line l JOIN bench_order o ON o.id = l.order_id", params)
    if ctx.tax_id:
        cr.execute(
            "INSERT INTO account_tax_sale_order_line_rel (sale_order_line_id, account_tax_id)"
            " SELECT id, %s FROM bench_line",
            [ctx.tax_id],
        )
    return count


def generate(dsn, partners, orders, lines_per_order, carts, products, seed, company_id=None):
    timings = []
    total_start = time.monotonic()
    conn = psycopg2.connect(**dsn)
    try:
        with conn, conn.cursor() as cr:
            cr.execute("SET LOCAL synchronous_commit = off")
            cr.execute("SELECT setseed(%s)", [(seed % 1000) / 1000.0])
            cr.execute("SELECT now() AT TIME ZONE 'UTC'")
            (start,) = cr.fetchone()
            ctx = Context(cr, company_id)
            if not partners:
                raise SystemExit("--partners must be at least 1")
            if (orders or carts) and not products:
                raise SystemExit("orders need --products > 0")
            print(f"Generating into {dsn['dbname']}: {partners} partners, {products} products, "
                  f"{orders} orders (~{orders * lines_per_order} lines), {carts} carts "
                  f"(company {ctx.company_id}, tax {ctx.tax_rate * 100:g}%, langs {', '.join(ctx.langs)})")
            with timed(f"products ({products})", timings):
                generate_products(cr, ctx, products)
            with timed("staging partners", timings):
                info = stage_partners(cr, ctx, partners, start)
            with timed("staging orders and lines", timings):
                stage_orders(cr, ctx, orders, carts, lines_per_order, partners, products, start)
            with timed(f"res_partner ({partners})", timings):
                insert_partners(cr, ctx, info, start)
            with timed("sale_order", timings):
                nb_orders = insert_orders(cr, ctx)
            with timed("sale_order_line", timings):
                nb_lines = insert_lines(cr, ctx)
        with timed("vacuum analyze", timings):
            conn.autocommit = True
            with conn.cursor() as cr:
                for table in ("res_partner", "product_template", "product_product", "sale_order",
                              "sale_order_line", "account_tax_sale_order_line_rel", "product_taxes_rel"):
                    cr.execute(f"VACUUM ANALYZE {table}")
    finally:
        conn.close()
    total = time.monotonic() - total_start
    print(f"Done: {partners} partners, {nb_orders} orders/carts, {nb_lines} order lines in {total:.1f}s")
    return dict(timings=timings, total=total, orders=nb_orders, lines=nb_lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--db-port", type=int, default=5432)
    parser.add_argument("--db-user", default="odoo")
    parser.add_argument("--db-password", default=None)
    parser.add_argument("--partners", type=int, default=10000)
    parser.add_argument("--orders", type=int, default=None, help="confirmed orders (default: 2 x partners)")
    parser.add_argument("--lines-per-order", type=int, default=3,
                        help="average lines per confirmed order (uniform from 1 to 2n-1)")
    parser.add_argument("--carts", type=int, default=None, help="draft website carts (default: partners / 20)")
    parser.add_argument("--products", type=int, default=50, help="products created and sold (K)")
    parser.add_argument("--company-id", type=int, default=None, help="default: the first company")
    parser.add_argument("--seed", type=int, default=SEED_DEFAULT)
    args = parser.parse_args(argv)
    dsn = dict(dbname=args.db, host=args.db_host, port=args.db_port, user=args.db_user)
    if args.db_password:
        dsn["password"] = args.db_password
    orders = 2 * args.partners if args.orders is None else args.orders
    carts = args.partners // 20 if args.carts is None else args.carts
    generate(dsn, args.partners, orders, max(args.lines_per_order, 1), carts, args.products, args.seed,
             args.company_id)


if __name__ == "__main__":
    sys.exit(main())
