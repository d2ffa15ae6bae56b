// ordergate::Gateway (include/ordergate/gateway.h) over the pipeline: being written.
#include "ordergate/gateway.h"
