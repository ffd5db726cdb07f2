import time

import pytest
import sandbox
from markupsafe import Markup
from sandbox import TemplateError, render, to_jinja

CART = {
    "lines": [
        {"name": "Espresso Cup", "quantity": "2", "subtotal": "$80.00"},
        {"name": "Tea <Pot>", "quantity": "1", "subtotal": "$30.00"},
    ],
    "amount_total": "$110.00",
}


def test_placeholders_are_rendered_and_escaped():
    out = render("<p>Hi {{ customer.first_name }}</p>", {"customer": {"first_name": "<b>Ann</b>"}})
    assert out == "<p>Hi &lt;b&gt;Ann&lt;/b&gt;</p>"


def test_row_loop_written_as_attribute_survives_the_table():
    source = (
        "<table><tbody><tr data-smb-for=\"line in cart.lines\"><td>{{ line.name }}</td>"
        "<td>{{ line.subtotal }}</td></tr></tbody></table><p>Total {{ cart.amount_total }}</p>"
    )
    out = render(source, {"cart": CART})
    assert out.count("<tr>") == 2
    assert "Tea &lt;Pot&gt;" in out
    assert out.index("Espresso Cup") < out.index("Tea") < out.index("$110.00")


def test_condition_attribute_hides_the_element():
    source = '<p data-smb-if="coupon">Code: {{ coupon.code }}</p><p>Bye</p>'
    assert render(source, {"coupon": None}) == "<p>Bye</p>"
    assert "SAVE10" in render(source, {"coupon": {"code": "SAVE10"}})


def test_loop_and_condition_on_the_same_element_keep_the_tail_text():
    source = '<div><span data-smb-for="p in items" data-smb-if="p.ok">{{ p.name }}</span> after</div>'
    out = render(source, {"items": [{"name": "A", "ok": True}, {"name": "B", "ok": False}]})
    assert out == "<div><span>A</span> after</div>"


def test_placeholder_in_a_link_percent_encoded_by_the_sanitizer():
    assert render('<a href="{{%20shop_url%20}}">shop</a>', {"shop_url": "https://x.test/shop"}) == (
        '<a href="https://x.test/shop">shop</a>'
    )


def test_entities_from_the_editor_inside_expressions_are_decoded():
    assert to_jinja("{{ x | default(&quot;none&quot;) }}") == '{{ x | default("none") }}'


def test_unknown_placeholder_is_an_error_naming_it():
    with pytest.raises(TemplateError, match="shoe_size"):
        render("{{ customer.shoe_size }}", {"customer": {"first_name": "Ann"}})


def test_syntax_error_is_reported_with_its_line():
    with pytest.raises(TemplateError, match="line 2"):
        sandbox.compile_template("<p>ok</p>\n{{ customer.first_name ")


def test_invalid_loop_expression_is_refused():
    with pytest.raises(TemplateError, match="Invalid loop"):
        sandbox.compile_template('<tr data-smb-for="import os"><td/></tr>')


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ customer.__class__ }}",
    "{{ customer._data }}",
    "{{ customer.keys() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ namespace() }}",
    "{{ range.__self__ }}",
])
def test_sandbox_exposes_no_internals(source):
    with pytest.raises(TemplateError):
        render(source, {"customer": {"first_name": "Ann"}})


def test_context_is_read_only_plain_data():
    with pytest.raises(TemplateError):
        render("{% set _ = customer.update({'a': 1}) %}", {"customer": {"first_name": "Ann"}})
    with pytest.raises(TypeError):
        sandbox.freeze({"record": object()})


def test_runaway_output_is_stopped():
    with pytest.raises(TemplateError, match="too large"):
        render("{% for i in range(3000000) %}x{% endfor %}", {})


def test_subject_is_plain_text_not_html_escaped():
    subject = sandbox.compile_text("{{ customer.first_name }}, your cart at Bob & Co")
    assert sandbox.render(subject, {"customer": {"first_name": "O'Hara <3"}}) == "O'Hara <3, your cart at Bob & Co"


def test_subject_sandbox_still_refuses_internals():
    with pytest.raises(sandbox.TemplateError):
        sandbox.render(sandbox.compile_text("{{ customer.__class__ }}"), {"customer": {}})


def test_referenced_names_lists_only_what_the_template_uses():
    source = '<p>{{ customer.first_name }}</p><div data-smb-for="p in recommendations">{{ p.name }}</div>'
    assert sandbox.referenced_names(source) == {"customer", "recommendations"}
    assert sandbox.referenced_names("{% for i in range(2) %}{{ coupon.code }}{% endfor %}") == {"coupon"}


# ------------------------------------------------------------
# Bounds: each case must be refused fast, before the work is done
# ------------------------------------------------------------


def _refused(source, match, context=None, text=False):
    start = time.perf_counter()
    with pytest.raises(TemplateError, match=match):
        template = sandbox.compile_text(source) if text else sandbox.compile_template(source)
        render(template, context or {})
    assert time.perf_counter() - start < 1.0


def test_range_is_bounded():
    _refused("{% for i in range(10**9) %}x{% endfor %}", r"range\(\) is too large")
    assert render("{{ range(3)|list }}", {}) == "[0, 1, 2]"


def test_repetition_is_refused_before_it_is_built_even_when_compiling():
    # Jinja's optimizer would compute a constant expression while compiling the subject
    _refused("{{ 'x' * 10**9 }}", r"'\*' would make 1,000,000,000 characters", text=True)
    _refused("{{ [1, 2] * 10**9 }}", "Value too large")
    assert render("{{ 'ab' * 3 }}", {}) == "ababab"


def test_power_is_refused_from_the_size_of_its_result():
    # Jinja's ** is left-associative: (10 ** 10) ** 10 is a 101-digit number
    assert render("{{ 10 ** 10 ** 10 }}", {}) == "1" + "0" * 100
    _refused("{{ 10 ** (10 ** 10) }}", "Number too large")
    _refused("{{ 2 ** 100000 }}", "about 30,103 digits")
    _refused("{{ (10 ** 1000) * (10 ** 1000) * (10 ** 1000) * (10 ** 1000) }}", "Number too large")


def test_sequence_addition_and_concatenation_are_sized():
    _refused("{% set s = 'x' * 1500000 %}{{ s + s }}", r"'\+' would make 3,000,000")
    _refused("{% set s = 'x' * 1500000 %}{{ s ~ s }}", "'~' would make 3,000,000")
    _refused("{% set s = [0] * 400000 %}{% set t = s + s %}{{ t + t }}", "Value too large")
    assert render("{{ 'a' ~ 1 ~ x }}{{ (1, 2) + (3,) }}", {"x": Markup("<b>")}) == "a1<b>(1, 2, 3)"
    assert render("{{ 'a' ~ x }}", {"x": "<b>"}) == "a&lt;b&gt;"


def test_percent_formatting_is_sized():
    _refused("{{ '%999999999d' % 1 }}", "'%' formatting would make")
    _refused("{% set s = 'x' * 1000000 %}{{ '%(a)s%(a)s%(a)s' % {'a': s} }}", "'%' formatting")
    _refused("{{ '%*d' % (5, 1) }}", r"'%\*d' formatting is not available")
    source = "{{ '%.2f' % 3.14159 }}|{{ '%s-%s' % ('a', 'b') }}|{{ '%05d' % 42 }}|{{ '%d%%'|format(5) }}"
    assert render(source, {}) == "3.14|a-b|00042|5%"


@pytest.mark.parametrize("assign", [
    "{% set a = a ~ a %}", "{% set a = a + a %}", "{% set a = a * 2 %}", "{% set a %}{{ a }}{{ a }}{% endset %}",
])
def test_doubling_chain_of_sets_is_stopped(assign):
    _refused("{% set a = 'xx' %}" + assign * 40 + "{{ a|length }}", "too large|too much text")


def test_list_literals_holding_a_long_text_many_times_are_refused():
    _refused("{% set s = 'x' * 1000000 %}{{ [s, s, s] }}", "this list would hold")


def test_all_operations_of_a_render_share_one_allocation_budget():
    # each slice is small enough; twenty of them are not
    _refused("{% set s = 'x' * 1900000 %}{% for i in range(20) %}{% set t = s[1:] %}{% endfor %}", "too much text")


def test_loop_iterations_are_counted_across_nested_loops():
    source = "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}" \
             "{% endfor %}{% endfor %}"
    _refused(source, "loops run more than 20,000 times")
    # the data's own lists count too
    _refused("{% for a in l %}{% for b in l %}{% endfor %}{% endfor %}", "loops run", {"l": list(range(1000))})


def test_render_stops_at_its_deadline(monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.0)
    _refused("{% for i in range(1000) %}{{ i }}{% endfor %}", "takes too long")


@pytest.mark.parametrize("source, match", [
    ("{{ 'x'|center(10**9) }}", "center filter would make"),
    ("{{ 'x'|center(1000000000) }}", "center filter would make"),
    ("{{ 'x'|indent(10**9) }}", "indent filter would make"),
    ("{% set s = 'x' * 1500000 %}{{ s|replace('x', 'yy') }}", "replace filter would make"),
    ("{{ (['ab'] * 10)|join('x' * 1000000) }}", "join filter would make"),
    ("{{ [1]|batch(10**9, 'x')|list }}", "batch filter would make"),
    ("{{ [[1], [2]]|sum(start=[]) }}", "adds numbers only"),
    ("{{ 5|round(-10**9) }}", "precision between"),
    ("{{ 'x'|wordwrap(3) }}", "filter 'wordwrap' is not available"),
    ("{{ [1, 2]|random }}", "filter 'random' is not available"),
    ("{{ 'a<b>'|striptags }}", "filter 'striptags' is not available"),
])
def test_filters_that_can_allocate_are_wrapped_or_left_out(source, match):
    _refused(source, match)


def test_kept_filters_still_work():
    source = (
        "{{ 'x'|center(5) }}|{{ 'a\nb'|indent(2) }}|{{ 'a-b'|replace('-', '+') }}|{{ ['a', 'b']|join(', ') }}|"
        "{{ [1, 2, 3]|sum }}|{{ 42.557|round(1) }}|{{ [1, 2, 3]|batch(2)|list }}|{{ 'ab'|upper }}|{{ [3, 1]|sort }}"
    )
    assert render(source, {}) == "  x  |a\n  b|a+b|a, b|6|42.6|[[1, 2], [3]]|AB|[1, 3]"


@pytest.mark.parametrize("source, match", [
    ("{% macro m() %}x{% endmacro %}{{ m() }}", "macro"),
    ("{% call foo() %}x{% endcall %}", "call"),
    ("{% import 'x' as y %}", "import"),
    ("{% from 'x' import y %}", "from"),
    ("{% include 'x' %}", "include"),
    ("{% extends 'x' %}", "extends"),
    ("{% for x in [1] recursive %}{{ loop([]) }}{% endfor %}", "recursive loops"),
])
def test_repeating_constructs_are_refused_when_compiling(source, match):
    with pytest.raises(TemplateError, match=f"Line 1: .*{match}.* not available"):
        sandbox.compile_template(source)


def test_source_size_is_bounded():
    _refused("x" * (sandbox.MAX_SOURCE + 1), "Template is too long")
    # compiling time grows with the template code, not with the HTML around it
    _refused("{{ a.b.c }}" * 5000, "too much template code")
    # unclosed tags used to make the tag scanner quadratic
    _refused("{{" * 30000, "too much template code")
    assert sandbox.to_jinja("{{ a %7B%7B%20b%20%7D%7D") == "{{ a {{ b }}"


def test_output_size_stops_the_render_early():
    context = {"s": "y" * 3000}
    _refused("{% for i in range(1000) %}{{ s }}{% endfor %}", "output is too large", context)


def test_runtime_failures_are_template_errors():
    _refused("{{ 1 / 0 }}", "division by zero")
    _refused("{{ 'a' * 'b' }}", "Template error")
    _refused("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nested too deeply")
    # a compiled template cannot be rendered around the bounds
    with pytest.raises(TemplateError, match="range"):
        sandbox.compile_template("{% for i in range(10**9) %}{% endfor %}").render()


def test_loop_controls_and_loop_variable_still_work():
    source = "{% for i in range(5) %}{% if i == 3 %}{% break %}{% endif %}{{ loop.index }}/{{ loop.length }} {% endfor %}"
    assert render(source, {}) == "1/5 2/5 3/5 "


def test_frozen_keys_win_over_mapping_methods():
    assert render("{{ cart.items }} {{ cart['keys'] }}", {"cart": {"items": 3, "keys": 4}}) == "3 4"


def test_set_block_keeps_markup_and_escapes_values():
    source = "{% set x %}<b>{{ v }}</b>{% endset %}{{ x }}{% filter upper %}<i>{{ v }}</i>{% endfilter %}"
    assert render(source, {"v": "<&>"}) == "<b>&lt;&amp;&gt;</b><I>&LT;&AMP;&GT;</I>"


# ------------------------------------------------------------
# Placeholders a journey cannot fill
# ------------------------------------------------------------

SAMPLE = {
    "customer": {"first_name": "Ann", "name": "Ann Smith"},
    "company": {"name": "Bob & Co"},
    "cart": {"lines": [{"name": "Cup", "subtotal": "$8.00"}]},
    "order": None,
    "coupon": None,
    "recommendations": [],
}


def test_check_lists_every_unknown_name_with_the_available_ones():
    with pytest.raises(TemplateError) as error:
        sandbox.check("{{ custmer.first_name }} {{ ordr.name }} {{ customer.first_name }}", SAMPLE)
    assert str(error.value) == (
        "Unknown placeholders: custmer, ordr (available: cart, company, coupon, customer, order, recommendations)"
    )


def test_check_names_unknown_attributes_with_their_full_path_even_in_branches_not_taken():
    source = "{{ customer.frist_name }}{% if false %}{{ company.nme }}{% endif %}"
    with pytest.raises(TemplateError) as error:
        sandbox.check(source, SAMPLE)
    assert str(error.value) == (
        "Unknown placeholder: customer.frist_name (customer has: first_name, name)\n"
        "Unknown placeholder: company.nme (company has: name)"
    )


def test_check_follows_loop_variables_into_the_sample_list():
    source = '<table><tr data-smb-for="line in cart.lines"><td>{{ line.nme }}</td></tr></table>'
    with pytest.raises(TemplateError, match=r"^Unknown placeholder: line.nme \(line has: name, subtotal\)$"):
        sandbox.check(source, SAMPLE)


def test_check_refuses_a_read_on_an_empty_value():
    with pytest.raises(TemplateError) as error:
        sandbox.check("<p>{{ order.name }}</p>", SAMPLE)
    assert str(error.value) == (
        'order.name cannot be filled here: order is empty in this journey (guard it with data-smb-if="order")'
    )
    with pytest.raises(TemplateError, match=r"guard it with \{% if coupon %\}"):
        sandbox.check("Your code {{ coupon.code }}", SAMPLE, text=True)
    with pytest.raises(TemplateError, match="order.lines cannot be filled here: order is empty"):
        sandbox.check('<tr data-smb-for="line in order.lines"><td>{{ line.name }}</td></tr>', SAMPLE)


def test_check_accepts_guarded_uses_loop_and_set_variables():
    source = (
        '{% if order %}{{ order.name }}{% endif %}<p data-smb-if="coupon">{{ coupon.code }}</p>'
        '{% set greeting = "Hi" %}{{ greeting }} {{ customer.first_name }}'
        '<table><tr data-smb-for="line in cart.lines"><td>{{ line.name }} {{ loop.index }}</td></tr></table>'
        '<div data-smb-for="p in recommendations">{{ p.name }}</div>'
    )
    out = sandbox.check(source, SAMPLE)
    assert out == "Hi Ann<table><tr><td>Cup 1</td></tr></table>"


def test_render_gives_the_same_messages_for_a_real_customer():
    with pytest.raises(TemplateError, match=r"^Unknown placeholder: customer.frist_name \(customer has: first_name\)$"):
        render("{{ customer.frist_name }}", {"customer": {"first_name": "Ann"}})
    with pytest.raises(TemplateError, match=r"^coupon.code cannot be filled here: coupon is empty"):
        render("{{ coupon.code }}", {"coupon": None})
    with pytest.raises(TemplateError, match=r"^Unknown placeholder: cart.lines\[3\] \(cart.lines has 1 items\)$"):
        render("{{ cart.lines[3] }}", {"cart": SAMPLE["cart"]})
    with pytest.raises(TemplateError, match=r"^Unknown placeholder: custmer$"):
        render("{{ custmer.name }}", {})
