{
    "name": "Customer Journeys - Inventory",
    "version": "19.0.1.0.0",
    "category": "Marketing/Automation",
    "summary": "Journeys started by deliveries and by products back in stock",
    "description": "Bridge between Customer Journeys and Inventory: an 'Order delivered' trigger (the "
    "review request goes out days after the delivery, not after the order) and a 'Back in stock' trigger "
    "(customers who asked to be told, or left the product in their cart, hear when it is available again).",
    "author": "smb_journey contributors",
    "website": "https://github.com/smb-journey/smb_journey",
    "license": "LGPL-3",
    "depends": ["smb_journey", "website_sale_stock"],
    "data": [
        "data/smb_journey_review_after_delivery_data.xml",
        "data/smb_journey_back_in_stock_data.xml",
        "data/smb_journey_template_data.xml",
        "views/smb_journey_views.xml",
    ],
    "demo": ["demo/smb_journey_stock_demo.xml"],
    "post_init_hook": "post_init_hook",
    "auto_install": True,
    "installable": True,
}
