/*
 * The permission levels of bridge.permissions, ordered so that a higher
 * level may do everything a lower one may.
 */
#ifndef WARROOM_PERMISSION_LEVEL_H
#define WARROOM_PERMISSION_LEVEL_H

enum perm_level {
    PERM_NONE,
    PERM_GUEST,
    PERM_ANALYST,
    PERM_ADMIN,
};

#endif
