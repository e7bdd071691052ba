-- severity: warn
-- description: customers without a customer_id (left out of the models) or without a loyalty_score

select
    _file_key as file_key,
    _line_number as line_number,
    customer_id,
    loyalty_score
from raw.customers__cut
where customer_id is null
   or trim(customer_id) = ''
   or loyalty_score is null
