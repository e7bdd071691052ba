-- severity: error
-- description: customer 360: the category amounts plus uncategorised_amount add up to total_amount

select
    customer_id,
    total_amount,
    {{ category_amount_sum }} + uncategorised_amount as sum_of_parts
from analytics.customers
where abs(total_amount - ({{ category_amount_sum }} + uncategorised_amount)) > 0.001
