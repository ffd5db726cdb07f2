import re

import pytest
from email_arch import SAMPLE_IMAGE, editor_arch, is_editor_arch
from sandbox import TemplateError, render, to_jinja

SAMPLE = {
    "customer": {"first_name": "Ann", "name": "Ann Smith"},
    "company": {"name": "Tea & Co"},
    "cart": {"url": "https://shop.example/cart?id=1", "lines": [
        {"name": "Espresso Cup", "quantity": "2", "image_url": "https://shop.example/img/1"}]},
}
CUSTOMER = {
    "customer": {"first_name": "Bob", "name": "Bob Stone"},
    "company": {"name": "Tea & Co"},
    "cart": {"url": "https://shop.example/cart?id=7&access_token=x", "lines": [
        {"name": "Teapot", "quantity": "1", "image_url": "https://shop.example/img/2"},
        {"name": "Cup <b>", "quantity": "3", "image_url": "https://shop.example/img/3"}]},
}


def test_placeholders_render_in_place_of_their_samples():
    source = (
        '<p>Hi <span class="o_smb_placeholder o-contenteditable-false" data-smb-out="customer.first_name">Ann</span>,'
        ' <a href="/shop/cart" data-smb-href="cart.url">your cart</a></p>'
        '<table><tr data-smb-for="line in cart.lines"><td>'
        f'<img src="{SAMPLE_IMAGE}" data-smb-src="line.image_url"/></td>'
        '<td><span style="color:red" class="o_smb_placeholder" data-smb-out="line.name">Espresso Cup</span></td>'
        "</tr></table>"
    )
    out = render(source, CUSTOMER)
    assert "Hi Bob," in out
    assert 'href="https://shop.example/cart?id=7&amp;access_token=x"' in out
    assert out.count("<tr>") == 2
    assert 'src="https://shop.example/img/3"' in out
    assert '<span style="color:red">Cup &lt;b&gt;</span>' in out, "the span keeps its style, not the editor's marks"
    assert "data-smb" not in out and SAMPLE_IMAGE not in out and "o_smb_placeholder" not in out


def test_a_placeholder_cannot_break_out_of_its_tag():
    with pytest.raises(TemplateError, match="Invalid placeholder"):
        to_jinja('<span data-smb-out="x }}{{ y">a</span>')
    with pytest.raises(TemplateError, match="Invalid placeholder"):
        to_jinja('<img src="/a.png" data-smb-src="">')


def test_an_older_email_gets_an_arch_showing_samples_that_renders_the_same():
    body = (
        '<div><p>Hi {{ customer.first_name }}, from {{company.name}}!</p>'
        '<table><tr data-smb-for="line in cart.lines"><td><img src="{{ line.image_url }}" alt="{{ line.name }}"/></td>'
        "<td>{{ line.name }} x {{ line.quantity }}</td></tr></table>"
        '<a href="{{%20cart.url%20}}">Back</a> {{ customer.name | upper }}</div>'
    )
    arch = editor_arch(body, SAMPLE)
    assert is_editor_arch(arch)
    assert "{{ customer.first_name }}" not in arch and 'src="{{' not in arch
    assert '<span class="o_smb_placeholder o-contenteditable-false" data-smb-out="customer.first_name">Ann</span>' in arch
    assert f'src="{SAMPLE_IMAGE}"' in arch and 'data-smb-src="line.image_url"' in arch
    assert '>Espresso Cup</span>' in arch, "a loop's item shows the list's first sample"
    assert 'href="https://shop.example/cart?id=1" data-smb-href="cart.url"' in arch
    assert "{{ customer.name | upper }}" in arch, "what is not a plain value stays as written"

    def text(html):
        return re.sub(r"<[^>]+>", "", html)

    assert text(render(arch, CUSTOMER)) == text(render(body, CUSTOMER))
    assert editor_arch(arch, SAMPLE) == arch
