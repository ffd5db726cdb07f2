import pytest
import sandbox
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
