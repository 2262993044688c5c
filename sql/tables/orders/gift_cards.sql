-- orders.gift_cards: gift cards issued by a channel (a liability until redeemed).

CREATE TABLE orders.gift_cards (
    tenant_id text NOT NULL,
    channel_id text NOT NULL,
    gift_card_id text NOT NULL,
    last_characters text,
    initial_value numeric NOT NULL,
    balance numeric NOT NULL,
    currency character(3) NOT NULL,
    order_id text,
    issued_at timestamptz,
    disabled_at timestamptz,
    expires_on date,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, gift_card_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES orders.channels (tenant_id, channel_id),
    CONSTRAINT gift_cards_currency_iso4217 FOREIGN KEY (currency) REFERENCES orders.currencies (currency_code),
    CONSTRAINT gift_cards_initial_value_non_negative CHECK (initial_value >= 0),
    CONSTRAINT gift_cards_balance_non_negative CHECK (balance >= 0)
);

COMMENT ON TABLE orders.gift_cards IS 'Gift cards issued by a channel; the balance is a liability until redeemed.';
COMMENT ON COLUMN orders.gift_cards.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN orders.gift_cards.channel_id IS 'Channel that issued the card.';
COMMENT ON COLUMN orders.gift_cards.gift_card_id IS 'Gift card id on the platform.';
COMMENT ON COLUMN orders.gift_cards.last_characters IS 'Last characters of the code (never the full code).';
COMMENT ON COLUMN orders.gift_cards.initial_value IS 'Value at issue.';
COMMENT ON COLUMN orders.gift_cards.balance IS 'Remaining balance.';
COMMENT ON COLUMN orders.gift_cards.currency IS 'ISO 4217 currency of the card.';
COMMENT ON COLUMN orders.gift_cards.order_id IS 'Order that sold the card, when any.';
COMMENT ON COLUMN orders.gift_cards.issued_at IS 'When the card was issued.';
COMMENT ON COLUMN orders.gift_cards.disabled_at IS 'When the card was disabled, if ever.';
COMMENT ON COLUMN orders.gift_cards.expires_on IS 'Expiry date, when any.';
COMMENT ON COLUMN orders.gift_cards.recorded_at IS 'When pgbooks last wrote the row.';
