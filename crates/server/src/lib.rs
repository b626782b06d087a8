//! Assembly of the homeostat server.
