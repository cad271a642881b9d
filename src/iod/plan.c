// SPDX-License-Identifier: Apache-2.0
/* The plan value (see plan.h). */
#include "iod/plan.h"

#include <stdlib.h>

bool s2d_plan_add(s2d_plan *plan, const s2d_plan_instance *inst, s2d_error *err)
{
    s2d_plan_instance *grown =
        realloc(plan->instances, (plan->ninstances + 1) * sizeof *plan->instances);
    if (!grown) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    plan->instances = grown;
    plan->instances[plan->ninstances++] = *inst;
    return true;
}

void s2d_plan_free(s2d_plan *plan)
{
    free(plan->instances);
    free(plan->pyramid);
    plan->instances = NULL;
    plan->ninstances = 0;
    plan->pyramid = NULL;
}
