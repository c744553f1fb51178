#pragma once
#include <node_api.h>
